import { randomBytes } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { eq } from 'drizzle-orm';
import type { Config } from '../../src/config';
import type { Database } from '../../src/db/client';
import { batchMessages, batches } from '../../src/db/schema';
import { createWorker } from '../../src/temporal/worker';
import { importWorkflowId } from '../../src/temporal/workflow-ids';
import type { ImportBatchInput, ImportBatchResult } from '../../workflows/types';

/** Creates a worker for one test on its own task queue. */
export async function testWorker(
  env: TestWorkflowEnvironment,
  config: Config,
  db: Database,
): Promise<{ worker: Worker; config: Config }> {
  const taskQueue = `test-${randomBytes(4).toString('hex')}`;
  const queued = { ...config, taskQueue };
  const worker = await createWorker({
    config: queued,
    db,
    connection: env.nativeConnection,
    taskQueue,
    namespace: env.namespace ?? 'default',
  });
  return { worker, config: queued };
}

/** Runs the import workflow of one folder to its end and returns its result. */
export async function importFolder(
  env: TestWorkflowEnvironment,
  config: Config,
  batchName: string,
  folderPath: string,
): Promise<ImportBatchResult> {
  const input: ImportBatchInput = { batchName, folderPath, chunkSize: 16, concurrency: 3 };
  return env.client.workflow.execute('importBatchWorkflow', {
    taskQueue: config.taskQueue,
    workflowId: `${importWorkflowId(batchName)}-${randomBytes(3).toString('hex')}`,
    args: [input],
  });
}

export async function batchRow(db: Database, name: string) {
  const [row] = await db.select().from(batches).where(eq(batches.name, name));
  return row;
}

export async function messagesOf(db: Database, batchId: number) {
  return db.select().from(batchMessages).where(eq(batchMessages.batchId, batchId));
}
