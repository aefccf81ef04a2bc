import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Config } from '../config';
import type { ImportBatchInput } from '../../workflows/types';
import { importWorkflowId } from './workflow-ids';

export interface TemporalClient {
  client: Client;
  close(): Promise<void>;
}

/** Connects a Temporal client to TEMPORAL_ADDRESS. */
export async function connectClient(config: Config): Promise<TemporalClient> {
  const connection = await Connection.connect({ address: config.temporalAddress });
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
    });
    return { workflowId, runId: handle.firstExecutionRunId, started: true };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return { workflowId, runId: undefined, started: false };
    }
    throw error;
  }
}
