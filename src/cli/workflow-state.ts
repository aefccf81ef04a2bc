import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { BATCH_STATUS } from '../temporal/search-attributes';
import { importWorkflowId } from '../temporal/workflow-ids';
import type { ImportProgress } from '../../workflows/types';

export interface ImportWorkflowState {
  workflowId: string;
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, CANCELLED, ... */
  execution: string;
  /** The workflow's DicomBatchStatus search attribute, when set. */
  batchStatus: string | undefined;
  /** The `progress` query's result; only a running workflow is queried. */
  progress: ImportProgress | undefined;
}

/** Describes the latest run of a batch's import workflow; undefined when there is none. */
export async function describeImport(
  client: Client,
  batchName: string,
): Promise<ImportWorkflowState | undefined> {
  const workflowId = importWorkflowId(batchName);
  const handle = client.workflow.getHandle(workflowId);
  try {
    const description = await handle.describe();
    const execution = description.status.name;
    const progress =
      execution === 'RUNNING' ? await handle.query<ImportProgress>('progress') : undefined;
    return {
      workflowId,
      runId: description.runId,
      execution,
      batchStatus: description.typedSearchAttributes.get(BATCH_STATUS),
      progress,
    };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}
