import { listBatches } from '../db/batches';
import type { BatchRow } from '../db/batches';
import { openDatabaseForCommand } from '../db/open';
import { type BatchFilter, filterBatches } from './batch-filters';
import type { CommandContext } from './runtime';

export const REPORT_COLUMNS = [
  'name',
  'status',
  'images',
  'series',
  'bytes',
  'start',
  'finish',
  'seconds',
  'warnings',
] as const;

/** Formats a TSV cell. Tabs and line breaks in names would split the row, so they become spaces. */
function cell(value: string | number | null | undefined): string {
  return value === null || value === undefined ? '' : String(value).replace(/[\t\r\n]/g, ' ');
}

/** Formats the report row of a batch: times in ISO 8601 UTC, seconds with millisecond precision. */
export function reportRow(row: BatchRow): string {
  return [
    cell(row.name),
    cell(row.status),
    cell(row.imageCount),
    cell(row.seriesCount),
    cell(row.byteCount),
    cell(row.startedAt?.toISOString()),
    cell(row.finishedAt?.toISOString()),
    cell(row.durationMs === null ? null : (row.durationMs / 1000).toFixed(3)),
    cell(row.warningCount),
  ].join('\t');
}

/** Prints one TSV row per batch, oldest first, after a header row. */
export async function runReport(
  { config }: CommandContext,
  options: BatchFilter & { format: 'tsv' },
): Promise<void> {
  const database = await openDatabaseForCommand(config);
  try {
    const rows = filterBatches(await listBatches(database.db), options).reverse();
    const lines = [REPORT_COLUMNS.join('\t'), ...rows.map(reportRow)];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await database.close();
  }
}
