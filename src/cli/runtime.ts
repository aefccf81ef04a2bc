import { type Config, loadConfig } from '../config';
import { createLogger, type Logger } from '../logger';

export interface CommandContext {
  config: Config;
  log: Logger;
}

/** Loads configuration and the logger for one CLI command. */
export function commandContext(name: string): CommandContext {
  const config = loadConfig();
  return { config, log: createLogger(name, config.logLevel, config.logFormat) };
}

/** Resolves on the first SIGINT or SIGTERM. */
export function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
