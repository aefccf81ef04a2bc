import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Workflow code imports this module, so it must load nothing but @temporalio/common.

/** Name of the batch folder; filter with `DicomBatchName = "<name>"`. */
export const BATCH_NAME = defineSearchAttributeKey('DicomBatchName', SearchAttributeType.KEYWORD);

/** Import status: PROCESSING, WAITING, DEIDENTIFYING, DONE, EMPTY or ERROR. */
export const BATCH_STATUS = defineSearchAttributeKey('DicomBatchStatus', SearchAttributeType.KEYWORD);

/** Images stored for the batch: a running count while importing, the batch figure once closed. */
export const IMAGE_COUNT = defineSearchAttributeKey('DicomImageCount', SearchAttributeType.INT);

/** Warnings recorded for the batch: an estimate while importing, the batch figure once closed. */
export const WARNING_COUNT = defineSearchAttributeKey('DicomWarningCount', SearchAttributeType.INT);

export const SEARCH_ATTRIBUTE_KEYS = [BATCH_NAME, BATCH_STATUS, IMAGE_COUNT, WARNING_COUNT] as const;

/** Status values the import workflow sets in DicomBatchStatus. */
export type WorkflowBatchStatus =
  | 'PROCESSING'
  | 'WAITING'
  | 'DEIDENTIFYING'
  | 'DONE'
  | 'EMPTY'
  | 'ERROR';

/** The attributes as `temporal server start-dev --search-attribute` flags expect their types. */
export const DEV_SERVER_SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Int'> = {
  [BATCH_NAME.name]: 'Keyword',
  [BATCH_STATUS.name]: 'Keyword',
  [IMAGE_COUNT.name]: 'Int',
  [WARNING_COUNT.name]: 'Int',
};
