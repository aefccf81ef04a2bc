import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Config } from '../config';
import type { ImportBatchInput } from '../../workflows/types';
import { BATCH_NAME, BATCH_STATUS } from './search-attributes';
import { importWorkflowId } from './workflow-ids';

export interface TemporalClient {
  client: Client;
  close(): Promise<void>;
}

/** Connects a Temporal client to TEMPORAL_ADDRESS. */
export async function connectClient(config: Config): Promise<TemporalClient> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.temporalAddress });
  } catch (error) {
    throw new Error(
      `Temporal at ${config.temporalAddress} not reachable (${(error as Error).message}); ` +
        'start it, or set TEMPORAL_ADDRESS',
    );
  }
  const client = new Client({ connection, namespace: config.temporalNamespace });
  return { client, close: () => connection.close() };
}

export interface StartImportResult {
  workflowId: string;
  runId: string | undefined;
  /** False when an import of the same folder was already running; no second one is started. */
  started: boolean;
}

/**
 * Starts the import workflow of one folder. The workflow id comes from the folder name, so a second
 * trigger while an import runs finds the running one instead of starting another.
 */
export async function startImport(
  client: Client,
  config: Config,
  batchName: string,
  folderPath: string,
): Promise<StartImportResult> {
  const workflowId = importWorkflowId(batchName);
  const input: ImportBatchInput = {
    batchName,
    folderPath,
    chunkSize: config.importChunkSize,
    concurrency: config.importConcurrency,
  };
  try {
    const handle = await client.workflow.start('importBatchWorkflow', {
      taskQueue: config.taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: BATCH_NAME, value: batchName },
        { key: BATCH_STATUS, value: 'PROCESSING' },
      ],
      staticSummary: `Import of batch ${batchName}`,
      staticDetails:
        `Folder ${folderPath}, ${input.chunkSize} files per activity, ` +
        `${input.concurrency} activities at once`,
    });
    return { workflowId, runId: handle.firstExecutionRunId, started: true };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return { workflowId, runId: undefined, started: false };
    }
    throw error;
  }
}

/** Base address of the Temporal UI: TEMPORAL_UI_URL, or the dev server's UI on TEMPORAL_UI_PORT. */
export function temporalUiUrl(config: Config): string {
  const base = config.temporalUiUrl ?? `http://127.0.0.1:${config.temporalUiPort}`;
  return base.replace(/\/+$/, '');
}

/** Address of one workflow's page in the Temporal UI. */
export function workflowUiLink(config: Config, workflowId: string): string {
  const namespace = encodeURIComponent(config.temporalNamespace);
  return `${temporalUiUrl(config)}/namespaces/${namespace}/workflows/${encodeURIComponent(workflowId)}`;
}
