// Payload types shared by workflows and activities. They carry paths, ids and counts only: never file
// contents, whole headers or patient data.

export interface ImportBatchInput {
  /** Name of the finished folder: the batch key. */
  batchName: string;
  /** Absolute path of the folder on the worker's host. */
  folderPath: string;
  /** Files per import activity. */
  chunkSize?: number;
  /** Import activities running at once for this batch. */
  concurrency?: number;
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
  chunkSize?: number;
  concurrency?: number;
}

export interface DeidentifyChunkInput extends DeliveryRef {
  offset: number;
  limit: number;
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
