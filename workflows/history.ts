import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';

/**
 * History events after which a run continues as new, unless the input sets another number. A run
 * goes past it by the chunks still running (about 6 events each) and, in the last run, by the
 * steps after the import (about 50 events), which stays far below Temporal's 10,000-event limit.
 */
export const DEFAULT_HISTORY_THRESHOLD = 5_000;

/**
 * True when the current run's history has `threshold` events or more, or when the server
 * suggests continuing as new (server setting `limit.historyCount.suggestContinueAsNew`, 4,096
 * events by default). Both come from the workflow task, so a replay computes the same result.
 */
export function historyFull(threshold: number): boolean {
  const info = workflowInfo();
  return info.historyLength >= threshold || info.continueAsNewSuggested;
}

/** Rejects an input field that is set but not a positive integer, naming the workflow and field. */
export function checkPositiveInteger(workflow: string, field: string, value: unknown): void {
  if (value === undefined || (Number.isInteger(value) && (value as number) > 0)) return;
  throw ApplicationFailure.nonRetryable(
    `invalid ${workflow} input: ${field} must be a positive integer, got ${JSON.stringify(value)}`,
    'InvalidInput',
  );
}
