import {
  ParentClosePolicy,
  condition,
  defineQuery,
  defineSignal,
  executeChild,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
// Type-only import: workflow code must not load activity modules, which use Node APIs.
import type { Activities } from '../activities';
import {
  BATCH_NAME,
  BATCH_STATUS,
  IMAGE_COUNT,
  WARNING_COUNT,
  type WorkflowBatchStatus,
} from '../src/temporal/search-attributes';
import { deidentifyWorkflow } from './deidentify';
import { ranges, runPool } from './pool';
import type {
  DeidentifyResult,
  DeliveryRef,
  FailedFile,
  ImportBatchInput,
  ImportBatchResult,
  ImportDecision,
  ImportProgress,
} from './types';

/** Query returning files done, total, phase, counts and failed files; the UI's query tab shows it. */
export const progressQuery = defineQuery<ImportProgress>('progress');

/** Operator decision while the import waits on failed files: `{ "action": "retry" | "skip" }`. */
export const decideSignal = defineSignal<[ImportDecision]>('decide');

/** Failed files named in the progress query and the workflow's current details. */
const FAILED_FILES_SHOWN = 20;

/** Search attribute updates while importing, at most one per this many ms of workflow time. */
const UPSERT_INTERVAL_MS = 10_000;

// Short steps: retried without limit, since a database or storage outage must delay the import, not lose it.
const { beginDelivery, closeBatch, finishBatch, failedFiles, resetFailedFiles } =
  proxyActivities<Activities>({
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

function newProgress(batchName: string): ImportProgress {
  return {
    phase: 'starting',
    batchName,
    fileCount: 0,
    filesDone: 0,
    imported: 0,
    duplicates: 0,
    conflicts: 0,
    skipped: 0,
    failed: 0,
    warningCount: 0,
    failedFiles: [],
  };
}

function isDecision(payload: unknown): payload is ImportDecision {
  const action = (payload as { action?: unknown } | null)?.action;
  return action === 'retry' || action === 'skip';
}

/** Keeps the search attributes in step with the progress; skips unchanged and too frequent updates. */
function searchAttributePublisher(batchName: string, progress: ImportProgress) {
  let last = '';
  let lastAt = 0;
  let imageCount = 0;
  return (status: WorkflowBatchStatus, images?: number) => {
    imageCount = images ?? progress.imported + progress.duplicates;
    const current = `${status}/${imageCount}/${progress.warningCount}`;
    const statusChanged = !last.startsWith(`${status}/`);
    if (current === last || (!statusChanged && Date.now() - lastAt < UPSERT_INTERVAL_MS)) return;
    upsertSearchAttributes([
      { key: BATCH_NAME, value: batchName },
      { key: BATCH_STATUS, value: status },
      { key: IMAGE_COUNT, value: imageCount },
      { key: WARNING_COUNT, value: progress.warningCount },
    ]);
    last = current;
    lastAt = Date.now();
  };
}

/** Chunk ranges that contain the given ordinals, each range once. */
function rangesOf(ordinals: number[], total: number, size: number): Array<[number, number]> {
  const starts = [...new Set(ordinals.map((ordinal) => Math.floor(ordinal / size) * size))];
  return starts.map((start) => [start, Math.min(total, start + size)]);
}

function waitingDetails(count: number, files: FailedFile[]): string {
  const lines = files.map((file) => `- ${file.relativePath}: ${file.reason ?? 'no reason recorded'}`);
  if (count > files.length) lines.push(`- and ${count - files.length} more`);
  return [
    `**Waiting for a decision:** ${count} file(s) failed after their retries.`,
    'Send signal `decide` with `{"action":"retry"}` to import them again, ' +
      'or `{"action":"skip"}` to close the batch with them failed.',
    ...lines,
  ].join('\n');
}

/**
 * Imports one finished folder: list, import every file, wait for an operator when files failed,
 * close the batch, de-identify, clean up.
 */
export async function importBatchWorkflow(input: ImportBatchInput): Promise<ImportBatchResult> {
  const info = workflowInfo();
  const { batchName, folderPath } = input;
  const chunkSize = input.chunkSize ?? 100;
  const progress = newProgress(batchName);
  const publish = searchAttributePublisher(batchName, progress);
  let decision: ImportDecision | undefined;

  setHandler(progressQuery, () => progress);
  setHandler(decideSignal, (payload) => {
    if (progress.phase !== 'waiting') {
      log.warn('decision ignored: the import is not waiting', { batchName, phase: progress.phase });
    } else if (!isDecision(payload)) {
      log.warn('decision ignored: expected {"action":"retry"} or {"action":"skip"}', { batchName });
    } else {
      decision = payload;
    }
  });

  async function importRanges(
    ref: DeliveryRef,
    chunks: Array<[number, number]>,
    summaryOf: (from: number, to: number) => string,
    filesOf: (from: number, to: number) => number = (from, to) => to - from,
  ): Promise<void> {
    await runPool(chunks, input.concurrency ?? 4, async ([fromOrdinal, toOrdinal]) => {
      const summary = summaryOf(fromOrdinal, toOrdinal);
      const result = await importFiles.executeWithOptions({ summary }, [
        { ...ref, folderPath, fromOrdinal, toOrdinal },
      ]);
      progress.filesDone += filesOf(fromOrdinal, toOrdinal);
      progress.imported += result.imported;
      progress.duplicates += result.duplicates;
      progress.conflicts += result.conflicts;
      progress.skipped += result.skipped;
      progress.warningCount += result.skipped + result.conflicts;
      publish('PROCESSING');
    });
  }

  /** Reads the failed files from the database, which also covers files failed before a reset. */
  async function refreshFailed(ref: DeliveryRef): Promise<number> {
    const failed = await failedFiles.executeWithOptions({ summary: 'Count failed files' }, [
      { ...ref, limit: FAILED_FILES_SHOWN },
    ]);
    progress.failed = failed.count;
    progress.failedFiles = failed.files;
    return failed.count;
  }

  async function waitForDecision(): Promise<ImportDecision['action']> {
    progress.phase = 'waiting';
    publish('WAITING');
    setCurrentDetails(waitingDetails(progress.failed, progress.failedFiles));
    log.warn('import waiting for a decision on failed files', { batchName, failed: progress.failed });
    await condition(() => decision !== undefined);
    const action = decision?.action ?? 'skip';
    decision = undefined;
    setCurrentDetails('');
    log.info('decision received', { batchName, action, failed: progress.failed });
    return action;
  }

  async function retryFailed(ref: DeliveryRef): Promise<void> {
    const named = new Map(progress.failedFiles.map((file) => [file.ordinal, file.relativePath]));
    const reset = await resetFailedFiles.executeWithOptions(
      { summary: `Set ${progress.failed} failed file(s) back to pending` },
      [{ ...ref, folderPath }],
    );
    progress.phase = 'importing';
    progress.filesDone = Math.max(0, progress.filesDone - reset.ordinals.length);
    publish('PROCESSING');
    const chunks = rangesOf(reset.ordinals, progress.fileCount, chunkSize);
    const resetIn = (from: number, to: number) =>
      reset.ordinals.filter((ordinal) => ordinal >= from && ordinal < to);
    const summaryOf = (from: number, to: number) => {
      const first = resetIn(from, to)[0] ?? from;
      return `Retry failed file ${named.get(first) ?? `#${first + 1}`} (files ${from + 1}–${to})`;
    };
    await importRanges(ref, chunks, summaryOf, (from, to) => resetIn(from, to).length);
  }

  async function importDelivery(): Promise<ImportBatchResult> {
    const ref = await beginDelivery.executeWithOptions({ summary: `Begin delivery of ${batchName}` }, [
      {
        batchName,
        folderPath,
        deliveryKey: `${info.workflowId}/${info.firstExecutionRunId}`,
        workflowId: info.workflowId,
      },
    ]);

    progress.phase = 'listing';
    const listing = await listFiles.executeWithOptions({ summary: `List files of ${batchName}` }, [
      { ...ref, folderPath },
    ]);
    progress.fileCount = listing.fileCount;
    progress.warningCount = listing.warningCount;

    progress.phase = 'importing';
    const total = listing.fileCount;
    const summaryOf = (from: number, to: number) => `Import files ${from + 1}–${to} of ${total}`;
    await importRanges(ref, ranges(total, chunkSize), summaryOf);
    while ((await refreshFailed(ref)) > 0 && (await waitForDecision()) === 'retry') {
      await retryFailed(ref);
    }

    progress.phase = 'closing';
    const figures = await closeBatch.executeWithOptions({ summary: `Close batch ${batchName}` }, [ref]);
    progress.warningCount = figures.warningCount;
    progress.failed = figures.failedCount;

    let deidentify: DeidentifyResult | undefined;
    if (figures.imageCount > 0) {
      progress.phase = 'deidentifying';
      publish('DEIDENTIFYING', figures.imageCount);
      deidentify = await executeChild(deidentifyWorkflow, {
        workflowId: `${info.workflowId}/deidentify/${ref.deliveryId}`,
        args: [{ ...ref }],
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        staticSummary: `De-identify batch ${batchName}`,
      });
    }

    progress.phase = 'finishing';
    const status = await finishBatch.executeWithOptions({ summary: `Finish batch ${batchName}` }, [
      { ...ref, deidentify },
    ]);
    publish(status as WorkflowBatchStatus, figures.imageCount);

    progress.phase = 'cleaning';
    const source = await finalizeSource.executeWithOptions({ summary: `Clean up folder ${batchName}` }, [
      { ...ref, folderPath },
    ]);

    progress.phase = 'done';
    return { batchName, status, figures, deidentify, source };
  }

  publish('PROCESSING');
  try {
    return await importDelivery();
  } catch (error) {
    // Marks a failed or cancelled import so a filter on DicomBatchStatus = "ERROR" finds it.
    publish('ERROR');
    throw error;
  }
}
