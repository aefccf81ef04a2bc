import fs from 'node:fs';
import path from 'node:path';
import { type Config, loadConfig } from '../config';
import { createLogger, type Logger } from '../logger';
import { processAlive } from '../process-alive';

/** Written by `start` while it runs, so other commands find its Temporal server. */
export interface RunningStartInfo {
  pid: number;
  temporalAddress: string;
  temporalUiUrl: string;
}

export function runningStartFile(config: Config): string {
  return path.join(config.stateDir, 'start.json');
}


/**
 * Takes the Temporal address and UI of a running `start` in the same STATE_DIR, unless
 * TEMPORAL_ADDRESS or TEMPORAL_UI_URL is set: `start --port` then needs no second setting.
 */
function withRunningStart(config: Config, env: NodeJS.ProcessEnv): Config {
  let info: RunningStartInfo;
  try {
    info = JSON.parse(fs.readFileSync(runningStartFile(config), 'utf8')) as RunningStartInfo;
  } catch {
    return config;
  }
  if (!processAlive(info.pid)) return config;
  return {
    ...config,
    temporalAddress: env.TEMPORAL_ADDRESS ? config.temporalAddress : info.temporalAddress,
    temporalUiUrl: env.TEMPORAL_UI_URL ? config.temporalUiUrl : info.temporalUiUrl,
  };
}

export interface CommandContext {
  config: Config;
  log: Logger;
}

/** Loads configuration and the logger for one CLI command. */
export function commandContext(name: string): CommandContext {
  const config = withRunningStart(loadConfig(), process.env);
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
