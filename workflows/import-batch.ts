import {
  ParentClosePolicy,
  defineQuery,
  executeChild,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
// Type-only import: workflow code must not load activity modules, which use Node APIs.
import type { Activities } from '../activities';
import { deidentifyWorkflow } from './deidentify';
import { ranges, runPool } from './pool';
import type {
  DeidentifyResult,
  ImportBatchInput,
  ImportBatchResult,
  ImportProgress,
} from './types';

/** Query returning files done, total, phase and counts; the Temporal UI's query tab shows it. */
export const progressQuery = defineQuery<ImportProgress>('progress');

// Short steps: retried without limit, since a database or storage outage must delay the import, not lose it.
const { beginDelivery, closeBatch, finishBatch } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const { listFiles, finalizeSource } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['FolderNotFound'],
  },
});

// One chunk of files; unreadable files are retried by this policy until FILE_MAX_ATTEMPTS is used.
const { importFiles } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** Imports one finished folder: list, import every file, close the batch, de-identify, clean up. */
export async function importBatchWorkflow(input: ImportBatchInput): Promise<ImportBatchResult> {
  const info = workflowInfo();
  const progress: ImportProgress = {
    phase: 'starting',
    batchName: input.batchName,
    fileCount: 0,
    filesDone: 0,
    imported: 0,
    duplicates: 0,
    conflicts: 0,
    skipped: 0,
    failed: 0,
  };
  setHandler(progressQuery, () => progress);

  const ref = await beginDelivery({
    batchName: input.batchName,
    folderPath: input.folderPath,
    deliveryKey: `${info.workflowId}/${info.firstExecutionRunId}`,
    workflowId: info.workflowId,
  });

  progress.phase = 'listing';
  const listing = await listFiles({ ...ref, folderPath: input.folderPath });
  progress.fileCount = listing.fileCount;

  progress.phase = 'importing';
  const chunks = ranges(listing.fileCount, input.chunkSize ?? 100);
  await runPool(chunks, input.concurrency ?? 4, async ([fromOrdinal, toOrdinal]) => {
    const result = await importFiles({ ...ref, folderPath: input.folderPath, fromOrdinal, toOrdinal });
    progress.filesDone += toOrdinal - fromOrdinal;
    progress.imported += result.imported;
    progress.duplicates += result.duplicates;
    progress.conflicts += result.conflicts;
    progress.skipped += result.skipped;
    progress.failed += result.failed;
  });

  progress.phase = 'closing';
  const figures = await closeBatch(ref);

  let deidentify: DeidentifyResult | undefined;
  if (figures.imageCount > 0) {
    progress.phase = 'deidentifying';
    deidentify = await executeChild(deidentifyWorkflow, {
      workflowId: `${info.workflowId}/deidentify/${ref.deliveryId}`,
      args: [{ ...ref }],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
    });
  }

  progress.phase = 'finishing';
  const status = await finishBatch({ ...ref, deidentify });

  progress.phase = 'cleaning';
  const source = await finalizeSource({ ...ref, folderPath: input.folderPath });

  progress.phase = 'done';
  return { batchName: input.batchName, status, figures, deidentify, source };
}
