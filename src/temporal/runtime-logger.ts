import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { Logger } from '../logger';
import { batchNameFromWorkflowId } from './workflow-ids';

const PINO_LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Batch name of a workflow id: `import:<name>` and its children `import:<name>/deidentify/<n>`
 * both give `<name>`.
 */
export function batchNameOf(workflowId: unknown): string | undefined {
  if (typeof workflowId !== 'string') return undefined;
  return batchNameFromWorkflowId(workflowId.split('/')[0] ?? '');
}

/** Turns an Error in log metadata into its type and message, which pino prints as fields. */
function plainMeta(meta: LogMetadata | undefined): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...meta };
  for (const [key, value] of Object.entries(fields)) {
    if (value instanceof Error) fields[key] = { type: value.name, message: value.message };
  }
  const batchName = fields.batchName ?? batchNameOf(fields.workflowId);
  if (batchName !== undefined) fields.batchName = batchName;
  return fields;
}

/** Creates an SDK logger that writes every entry to `log`, with the batch name added to its metadata. */
export function sdkLogger(log: Logger): SdkLogger {
  const write = (level: LogLevel, message: string, meta?: LogMetadata) => {
    log[PINO_LEVELS[level]](plainMeta(meta), message);
  };
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}

/**
 * Installs the Temporal Runtime with a logger that forwards workflow, activity, worker and core log
 * entries to `log`. Workflow entries carry workflowId and runId, activity entries also the attempt.
 * Must run before the first NativeConnection or Worker of the process; throws otherwise.
 */
export function installRuntimeLogger(log: Logger): void {
  Runtime.install({
    logger: sdkLogger(log),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} } },
  });
}
