// Payload types shared by workflows and activities. They carry paths, ids and counts only: never file
// contents, whole headers or patient data.

export interface ImportBatchInput {
  /** Name of the finished folder: the batch key. */
  batchName: string;
  /** Absolute path of the folder as the worker sees it. */
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
  /** Folder that holds the files left for a person to look at, when `action` is `renamed`. */
  errorFolder?: string;
  keptFiles: number;
}

export type BatchPhase =
  | 'starting'
  | 'listing'
  | 'importing'
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
}

export interface ImportBatchResult {
  batchName: string;
  status: string;
  figures: BatchFigures;
  deidentify?: DeidentifyResult;
  source: FinalizeSourceResult;
}
