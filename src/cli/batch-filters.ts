import { InvalidArgumentError } from 'commander';
import { BATCH_STATUSES, type BatchStatus } from '../db/schema';
import type { BatchRow } from '../db/batches';

export interface BatchFilter {
  status?: BatchStatus;
  /** Batches started at or after this time. */
  since?: Date;
  /** Batches started before this time. */
  until?: Date;
}

/** Parses `--since`/`--until`: an ISO 8601 date (`2026-03-01`, UTC midnight) or date and time. */
export function parseDateOption(value: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError(
      `${value} is not a date: use YYYY-MM-DD or an ISO 8601 date and time`,
    );
  }
  return date;
}

/** Parses `--status`: one of the batch statuses, in any case. */
export function parseStatusOption(value: string): BatchStatus {
  const status = value.toUpperCase() as BatchStatus;
  if (!BATCH_STATUSES.includes(status)) {
    throw new InvalidArgumentError(
      `${value} is not a batch status: use one of ${BATCH_STATUSES.join(', ')}`,
    );
  }
  return status;
}

/** Keeps the rows that match every set filter; a batch never started counts by its creation time. */
export function filterBatches(rows: BatchRow[], filter: BatchFilter): BatchRow[] {
  return rows.filter((row) => {
    const started = (row.startedAt ?? row.createdAt).getTime();
    if (filter.status && row.status !== filter.status) return false;
    if (filter.since && started < filter.since.getTime()) return false;
    if (filter.until && started >= filter.until.getTime()) return false;
    return true;
  });
}
