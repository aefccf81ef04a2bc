import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Creates the process logger: human-readable on a terminal, JSON lines otherwise. Lines go to stderr
 * so that command output on stdout (`list --json`, `inspect --json`) stays machine-readable.
 */
export function createLogger(
  name: string,
  level = 'info',
  format: 'auto' | 'pretty' | 'json' = 'auto',
): Logger {
  const pretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true);
  if (pretty) {
    return pino({
      name,
      level,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l' },
      },
    });
  }
  return pino({ name, level }, pino.destination(2));
}
