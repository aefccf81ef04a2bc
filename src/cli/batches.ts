import fs from 'node:fs';
import path from 'node:path';
import { batchSummary, listBatches } from '../db/batches';
import { openDatabaseForCommand } from '../db/open';
import { type BatchFilter, filterBatches } from './batch-filters';
import type { CommandContext } from './runtime';

/** Prints the batches that match `filter`, newest first, as a table or as a JSON array. */
export async function runList(
  { config }: CommandContext,
  options: BatchFilter & { json?: boolean },
): Promise<void> {
  const database = await openDatabaseForCommand(config);
  try {
    // NOTE: filters run over every batch row in memory; a large archive needs them in SQL.
    const rows = filterBatches(await listBatches(database.db), options).map(batchSummary);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    const header = ['name', 'status', 'images', 'series', 'studies', 'warnings', 'started', 'finished'];
    const lines = rows.map((row) => [
      row.name,
      row.status + (row.hasError ? '!' : ''),
      String(row.imageCount),
      String(row.seriesCount),
      String(row.studyCount),
      String(row.warningCount),
      row.startedAt ?? '',
      row.finishedAt ?? '',
    ]);
    printTable([header, ...lines]);
  } finally {
    await database.close();
  }
}

/** Prints rows as columns padded to their widest cell. */
export function printTable(rows: string[][]): void {
  const columns = rows[0]?.length ?? 0;
  const widths = Array.from({ length: columns }, (_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? '').length)),
  );
  for (const row of rows) {
    const cells = row.map((cell, column) => cell.padEnd(widths[column] ?? 0));
    process.stdout.write(`${cells.join('  ').trimEnd()}\n`);
  }
}

/** Resolves a CLI folder argument: a path to a folder, or the name of a folder under DATA_DIR. */
export function resolveFolder(config: CommandContext['config'], folder: string): string {
  const direct = path.resolve(folder);
  if (path.isAbsolute(folder) || folder.includes(path.sep) || fs.existsSync(direct)) return direct;
  return path.join(config.dataDir, folder);
}
