import {
  ContinueAsNew,
  ParentClosePolicy,
  condition,
  defineQuery,
  defineSignal,
  executeChild,
  log,
  makeContinueAsNewFunc,
  patched,
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
import { DEFAULT_HISTORY_THRESHOLD, checkPositiveInteger, historyFull } from './history';
import { ranges, runPool, runPoolUntil } from './pool';
import type {
  DeidentifyResult,
  DeliveryRef,
  FailedFile,
  ImportBatchInput,
  ImportBatchResult,
  ImportChunkResult,
  ImportDecision,
  ImportProgress,
  ImportResume,
  PendingChunk,
} from './types';

/** Query returning files done, total, phase, counts and failed files; the UI's query tab shows it. */
export const progressQuery = defineQuery<ImportProgress>('progress');

/** Operator decision while the import waits on failed files: `{ "action": "retry" | "skip" }`. */
export const decideSignal = defineSignal<[ImportDecision]>('decide');

/** Failed files named in the progress query and the workflow's current details. */
const FAILED_FILES_SHOWN = 20;

/** Search attribute updates while importing, at most one per this many ms of workflow time. */
const UPSERT_INTERVAL_MS = 10_000;

/**
 * Patch marking executions that continue as new when the history passes the threshold.
 * Executions started before it replay their one run as recorded: one pool of every chunk, and
 * retries from the ordinals that `resetFailedFiles` returned.
 */
export const BOUNDED_HISTORY_PATCH = 'import-bounded-history';

/** Chunks whose pending files one `pendingChunks` call looks for, when a retry imports files. */
const PENDING_WINDOW_CHUNKS = 200;

// Short steps: retried without limit, since a database or storage outage must delay the import, not lose it.
const { beginDelivery, closeBatch, finishBatch, failedFiles, resetFailedFiles, pendingChunks } =
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
// requeueFailedFiles heartbeats per file, since a large delivery may have many failed files.
const { importFiles, requeueFailedFiles } = proxyActivities<Activities>({
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
 * close the batch, de-identify, clean up. While importing, a run whose history passes
 * `historyThreshold` lets its running chunks finish and continues as new with the state in
 * `resume`. It never continues as new while waiting for a decision or de-identifying.
 */
export async function importBatchWorkflow(input: ImportBatchInput): Promise<ImportBatchResult> {
  const info = workflowInfo();
  const { batchName, folderPath, resume } = input;
  // Called first, before any command, so that executions started without it replay unchanged.
  const bounded = patched(BOUNDED_HISTORY_PATCH);
  const chunkSize = input.chunkSize ?? 100;
  const concurrency = input.concurrency ?? 4;
  const threshold = input.historyThreshold ?? DEFAULT_HISTORY_THRESHOLD;
  const progress: ImportProgress = resume ? { ...resume.progress } : newProgress(batchName);
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

  const historyIsFull = () => bounded && historyFull(threshold);
  let chunksThisRun = 0;

  function countChunk(result: ImportChunkResult, files: number): void {
    chunksThisRun += 1;
    progress.filesDone += files;
    progress.imported += result.imported;
    progress.duplicates += result.duplicates;
    progress.conflicts += result.conflicts;
    progress.skipped += result.skipped;
    progress.warningCount += result.skipped + result.conflicts;
    publish('PROCESSING');
  }

  function importChunk(ref: DeliveryRef, [fromOrdinal, toOrdinal]: [number, number], summary: string) {
    return importFiles.executeWithOptions({ summary }, [{ ...ref, folderPath, fromOrdinal, toOrdinal }]);
  }

  async function importRanges(
    ref: DeliveryRef,
    chunks: Array<[number, number]>,
    summaryOf: (from: number, to: number) => string,
    filesOf: (from: number, to: number) => number = (from, to) => to - from,
  ): Promise<void> {
    await runPool(chunks, concurrency, async ([fromOrdinal, toOrdinal]) => {
      const summary = summaryOf(fromOrdinal, toOrdinal);
      const result = await importChunk(ref, [fromOrdinal, toOrdinal], summary);
      countChunk(result, filesOf(fromOrdinal, toOrdinal));
    });
  }

  /** Imports the listing's chunks from `nextChunk` on; returns the index of the first not started. */
  async function importListing(ref: DeliveryRef, nextChunk: number): Promise<number> {
    const total = progress.fileCount;
    const chunks = ranges(total, chunkSize).slice(nextChunk);
    const started = await runPoolUntil(
      chunks,
      concurrency,
      async ([from, to]) => {
        const result = await importChunk(ref, [from, to], `Import files ${from + 1}–${to} of ${total}`);
        countChunk(result, to - from);
      },
      historyIsFull,
    );
    return nextChunk + started;
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

  /** Retries the files that `resetFailedFiles` lists, as executions before BOUNDED_HISTORY_PATCH do. */
  async function retryFailedByOrdinals(ref: DeliveryRef): Promise<void> {
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

  /** Sets the failed files back to pending for a `retry` decision. */
  async function requeueFailed(ref: DeliveryRef): Promise<void> {
    const requeued = await requeueFailedFiles.executeWithOptions(
      { summary: `Set ${progress.failed} failed file(s) back to pending` },
      [{ ...ref, folderPath }],
    );
    progress.phase = 'importing';
    progress.filesDone = Math.max(0, progress.fileCount - requeued.pending);
    publish('PROCESSING');
  }

  /**
   * Imports the chunks with pending files from ordinal `from` on, window by window. Returns
   * undefined when none is left, or the ordinal to go on from after continuing as new.
   */
  async function importPending(ref: DeliveryRef, from: number): Promise<number | undefined> {
    const named = new Map(progress.failedFiles.map((file) => [file.ordinal, file.relativePath]));
    const total = progress.fileCount;
    const retryChunk = async ({ start, first, files }: PendingChunk) => {
      const to = Math.min(total, start + chunkSize);
      const summary = `Retry failed file ${named.get(first) ?? `#${first + 1}`} (files ${start + 1}–${to})`;
      countChunk(await importChunk(ref, [start, to], summary), files);
    };
    for (let windowStart = from; windowStart < total; ) {
      const windowEnd = Math.min(total, windowStart + PENDING_WINDOW_CHUNKS * chunkSize);
      const pending = await pendingChunks.executeWithOptions(
        { summary: `Find files to retry among files ${windowStart + 1}–${windowEnd}` },
        [{ ...ref, fromOrdinal: windowStart, toOrdinal: windowEnd, chunkSize }],
      );
      const started = await runPoolUntil(pending, concurrency, retryChunk, historyIsFull);
      const stoppedAt = pending[started];
      if (stoppedAt) return stoppedAt.start;
      windowStart = windowEnd;
      if (windowStart < total && historyIsFull()) return windowStart;
    }
    return undefined;
  }

  function continueImport(state: ImportResume): Promise<never> {
    log.info('import continuing as new', {
      batchName,
      historyLength: workflowInfo().historyLength,
      nextChunk: state.nextChunk,
      retryFrom: state.retryFrom,
    });
    // Set explicitly, so the new run is found by its current figures from its first event on.
    const makeContinueAsNew = makeContinueAsNewFunc<typeof importBatchWorkflow>({
      typedSearchAttributes: workflowInfo().typedSearchAttributes.updateCopy([
        { key: BATCH_STATUS, value: 'PROCESSING' },
        { key: IMAGE_COUNT, value: progress.imported + progress.duplicates },
        { key: WARNING_COUNT, value: progress.warningCount },
      ]),
    });
    return makeContinueAsNew({ ...input, resume: state });
  }

  /** Imports every file and settles the failed ones with the operator, continuing as new when due. */
  async function importFilesBounded(ref: DeliveryRef, state: ImportResume): Promise<void> {
    const chunkCount = Math.ceil(progress.fileCount / chunkSize);
    const nextChunk = await importListing(ref, state.nextChunk);
    if (nextChunk < chunkCount) await continueImport({ ref, progress, nextChunk });

    let retryFrom = state.retryFrom;
    for (;;) {
      if (retryFrom !== undefined) {
        retryFrom = await importPending(ref, retryFrom);
        if (retryFrom !== undefined) await continueImport({ ref, progress, nextChunk, retryFrom });
      }
      // The new run starts with a short history, so the wait and its retry fit into it. A run
      // that imported nothing goes on instead, or a threshold below a new run's own few events
      // would make every run continue as new at once.
      if (chunksThisRun > 0 && historyIsFull()) await continueImport({ ref, progress, nextChunk });
      if ((await refreshFailed(ref)) === 0 || (await waitForDecision()) === 'skip') return;
      await requeueFailed(ref);
      retryFrom = 0;
    }
  }

  async function importDelivery(): Promise<ImportBatchResult> {
    if (bounded) {
      for (const field of ['chunkSize', 'concurrency', 'deidentifyChunkSize', 'historyThreshold'] as const) {
        checkPositiveInteger('importBatchWorkflow', field, input[field]);
      }
    }
    let ref: DeliveryRef;
    if (resume) {
      ref = resume.ref;
      progress.phase = 'importing';
    } else {
      ref = await beginDelivery.executeWithOptions({ summary: `Begin delivery of ${batchName}` }, [
        {
          batchName,
          folderPath,
          // The same in every run: continue-as-new and reset keep firstExecutionRunId.
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
    }

    if (bounded) {
      await importFilesBounded(ref, resume ?? { ref, progress, nextChunk: 0 });
    } else {
      const total = progress.fileCount;
      const summaryOf = (from: number, to: number) => `Import files ${from + 1}–${to} of ${total}`;
      await importRanges(ref, ranges(total, chunkSize), summaryOf);
      while ((await refreshFailed(ref)) > 0 && (await waitForDecision()) === 'retry') {
        await retryFailedByOrdinals(ref);
      }
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
        args: [
          {
            ...ref,
            chunkSize: input.deidentifyChunkSize,
            concurrency,
            historyThreshold: input.historyThreshold,
          },
        ],
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
    if (!(error instanceof ContinueAsNew)) publish('ERROR');
    throw error;
  }
}
