// Payload types shared by workflows and activities. They carry paths, ids and counts only: never file
// contents, whole headers or patient data.

export interface ImportBatchInput {
  /** Name of the finished folder: the batch key. */
  batchName: string;
  /** Absolute path of the folder on the worker's host. */
  folderPath: string;
  /** Files per import activity. */
  chunkSize?: number;
  /** Import activities running at once for this batch; the deidentify child runs as many pages at once. */
  concurrency?: number;
  /** Images per de-identification activity; the deidentify workflow's default when unset. */
  deidentifyChunkSize?: number;
  /**
   * History events after which a run starts no further chunk, waits for the running ones and
   * continues as new. Default DEFAULT_HISTORY_THRESHOLD; the deidentify child gets the same.
   */
  historyThreshold?: number;
  /** State of the import carried into a continued run; unset in the first run. */
  resume?: ImportResume;
}

/**
 * State with which a continued run of the import goes on where the last run stopped, without
 * listing the folder or beginning the delivery again. It stays a few kilobytes at any folder size.
 */
export interface ImportResume {
  ref: DeliveryRef;
  /** Counters so far; `fileCount` is the listing's, `phase` is `importing`. */
  progress: ImportProgress;
  /** Index of the first chunk of the listing not imported yet, in `ranges(fileCount, chunkSize)`. */
  nextChunk: number;
  /**
   * Set while importing the files of a `retry` decision: chunks that start at this ordinal or
   * later may still contain pending files.
   */
  retryFrom?: number;
}

export interface DeliveryRef {
  batchId: number;
  deliveryId: number;
}

export interface ListFilesResult {
  fileCount: number;
  byteCount: number;
  warningCount: number;
}

export interface ImportChunkInput extends DeliveryRef {
  folderPath: string;
  /** First ordinal of the chunk, inclusive. */
  fromOrdinal: number;
  /** Last ordinal of the chunk, exclusive. */
  toOrdinal: number;
}

export interface ImportChunkResult {
  imported: number;
  duplicates: number;
  conflicts: number;
  skipped: number;
  failed: number;
}

export interface BatchFigures {
  fileCount: number;
  imageCount: number;
  seriesCount: number;
  studyCount: number;
  byteCount: number;
  warningCount: number;
  errorCount: number;
  duplicateCount: number;
  conflictCount: number;
  skippedCount: number;
  failedCount: number;
  /** Earliest and latest StudyDate (YYYYMMDD) of the batch's studies. */
  firstStudyDate: string | null;
  lastStudyDate: string | null;
}

export interface DeidentifyBatchInput extends DeliveryRef {
  /** Images per de-identification activity. */
  chunkSize?: number;
  /** De-identification activities running at once. */
  concurrency?: number;
  /** History events after which a run continues as new; see ImportBatchInput. */
  historyThreshold?: number;
  /** Images with this id or a lower one are done; set in a continued run. */
  afterImageId?: number;
}

/** One page of a delivery's images: those with `afterImageId < image id <= throughImageId`. */
export interface DeidentifyPageInput extends DeliveryRef {
  afterImageId: number;
  throughImageId: number;
}

/**
 * One page as `offset` and `limit` over the delivery's images in id order. Only executions
 * started before keyed pages schedule it.
 */
export interface DeidentifyOffsetPageInput extends DeliveryRef {
  offset: number;
  limit: number;
}

export type DeidentifyChunkInput = DeidentifyPageInput | DeidentifyOffsetPageInput;

export interface DeidentifyPageBoundsInput {
  deliveryId: number;
  /** Pages start after this image id. */
  afterImageId: number;
  /** Images per page. */
  pageSize: number;
  /** Pages wanted. */
  pages: number;
}

export interface DeidentifyResult {
  released: number;
  held: number;
  failed: number;
}

export interface FinalizeSourceResult {
  action: 'removed' | 'renamed' | 'kept' | 'missing';
  /** Folder containing the files left for a person to look at, when `action` is `renamed`. */
  errorFolder?: string;
  keptFiles: number;
}

export type BatchPhase =
  | 'starting'
  | 'listing'
  | 'importing'
  | 'waiting'
  | 'closing'
  | 'deidentifying'
  | 'finishing'
  | 'cleaning'
  | 'done';

export interface ImportProgress {
  phase: BatchPhase;
  batchName: string;
  fileCount: number;
  filesDone: number;
  imported: number;
  duplicates: number;
  conflicts: number;
  skipped: number;
  failed: number;
  /** Warnings so far: an estimate while importing, the batch's warning figure once closed. */
  warningCount: number;
  /** Files that failed after their retries, as far as the workflow has listed them. */
  failedFiles: FailedFile[];
}

export interface ImportBatchResult {
  batchName: string;
  status: string;
  figures: BatchFigures;
  deidentify?: DeidentifyResult;
  source: FinalizeSourceResult;
}

/** A file of a delivery that could not be imported, and why. */
export interface FailedFile {
  ordinal: number;
  relativePath: string;
  reason: string | null;
}

export interface FailedFilesResult {
  /** Every failed file of the delivery. */
  count: number;
  /** The first failed files by ordinal, at most the limit asked for. */
  files: FailedFile[];
}

export interface RequeueFailedFilesResult {
  /** Failed files set back to pending by this call. */
  requeued: number;
  /** Pending files of the delivery after the call, those of earlier attempts included. */
  pending: number;
}

export interface PendingChunksInput extends DeliveryRef {
  /** First ordinal of the window, inclusive; a multiple of `chunkSize`. */
  fromOrdinal: number;
  /** Last ordinal of the window, exclusive. */
  toOrdinal: number;
  chunkSize: number;
}

/** A chunk of the listing, `[start, start + chunkSize)`, that contains pending files. */
export interface PendingChunk {
  start: number;
  /** Ordinal of the chunk's first pending file. */
  first: number;
  /** Pending files in the chunk. */
  files: number;
}

export interface ResetFailedFilesResult {
  /** Ordinals of the files set back to pending, ascending. */
  ordinals: number[];
}

/**
 * Payload of the `decide` signal, sent while an import waits for an operator: `retry` sets the
 * failed files back to pending and imports them again, `skip` closes the batch with them failed.
 */
export interface ImportDecision {
  action: 'retry' | 'skip';
}
