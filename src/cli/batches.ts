import fs from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { batchSummary, findBatch, listBatches, recentMessages } from '../db/batches';
import { openDatabaseForCommand } from '../db/open';
import { connectClient, startImport } from '../temporal/client';
import { importWorkflowId } from '../temporal/workflow-ids';
import type { ImportBatchResult, ImportProgress } from '../../workflows/types';
import type { CommandContext } from './runtime';

/** Prints every batch, as a table or as a JSON array. */
export async function runList({ config }: CommandContext, options: { json?: boolean }): Promise<void> {
  const database = await openDatabaseForCommand(config);
  try {
    const rows = (await listBatches(database.db)).map(batchSummary);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    const header = ['name', 'status', 'images', 'series', 'studies', 'warnings', 'finished'];
    const lines = rows.map((row) => [
      row.name,
      row.status + (row.hasError ? '!' : ''),
      String(row.imageCount),
      String(row.seriesCount),
      String(row.studyCount),
      String(row.warningCount),
      row.finishedAt ?? '',
    ]);
    printTable([header, ...lines]);
  } finally {
    await database.close();
  }
}

function printTable(rows: string[][]): void {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  for (const row of rows) {
    process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()}\n`);
  }
}

/** Resolves a CLI folder argument: a path to a folder, or the name of a folder under DATA_DIR. */
export function resolveFolder(config: CommandContext['config'], folder: string): string {
  const direct = path.resolve(folder);
  if (fs.existsSync(direct)) return direct;
  return path.join(config.dataDir, folder);
}

/** Starts the import of one folder by hand; with `wait`, prints progress until it ends. */
export async function runImport(
  { config, log }: CommandContext,
  folder: string,
  options: { wait?: boolean },
): Promise<void> {
  const folderPath = resolveFolder(config, folder);
  const stat = fs.statSync(folderPath, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) throw new Error(`folder ${folderPath} not found`);
  const batchName = path.basename(folderPath);

  const temporal = await connectClient(config);
  try {
    const started = await startImport(temporal.client, config, batchName, folderPath);
    process.stdout.write(
      started.started
        ? `started import of ${batchName} (workflow ${started.workflowId})\n`
        : `an import of ${batchName} is already running (workflow ${started.workflowId})\n`,
    );
    if (!options.wait) return;

    const handle = temporal.client.workflow.getHandle(started.workflowId);
    let finished = false;
    const result = handle.result().finally(() => {
      finished = true;
    }) as Promise<ImportBatchResult>;
    let last = '';
    while (!finished) {
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
      if (finished) break;
      try {
        const progress = await handle.query<ImportProgress>('progress');
        const line = `${progress.phase}: ${progress.filesDone}/${progress.fileCount} files`;
        if (line !== last) process.stdout.write(`${line}\n`);
        last = line;
      } catch (error) {
        log.debug({ error: (error as Error).message }, 'progress query failed');
      }
    }
    const outcome = await result;
    process.stdout.write(
      `${outcome.batchName}: ${outcome.status}, ${outcome.figures.imageCount} images, ` +
        `${outcome.figures.seriesCount} series, ${outcome.figures.warningCount} warnings, ` +
        `source ${outcome.source.action}\n`,
    );
  } finally {
    await temporal.close();
  }
}

/** Prints the batch's row, its last messages and the state of its workflow. */
export async function runStatus({ config }: CommandContext, folder: string): Promise<void> {
  const batchName = path.basename(folder);
  const database = await openDatabaseForCommand(config);
  let row;
  let messages: Awaited<ReturnType<typeof recentMessages>> = [];
  try {
    row = await findBatch(database.db, batchName);
    if (row) messages = await recentMessages(database.db, row.id, 10);
  } finally {
    await database.close();
  }

  const workflowId = importWorkflowId(batchName);
  let workflowLine = 'workflow: none';
  let progress: ImportProgress | undefined;
  const temporal = await connectClient(config).catch(() => undefined);
  if (temporal) {
    try {
      const handle = temporal.client.workflow.getHandle(workflowId);
      const description = await handle.describe();
      workflowLine = `workflow: ${workflowId} ${description.status.name}`;
      if (description.status.name === 'RUNNING') progress = await handle.query<ImportProgress>('progress');
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) workflowLine = `workflow: ${(error as Error).message}`;
    } finally {
      await temporal.close();
    }
  } else {
    workflowLine = `workflow: Temporal at ${config.temporalAddress} not reachable`;
  }

  if (!row && !progress) {
    throw new Error(`no batch named ${batchName}`);
  }
  const out: string[] = [`batch: ${batchName}`];
  if (row) {
    const summary = batchSummary(row);
    out.push(
      `status: ${summary.status}${summary.hasError ? ' (has errors)' : ''}`,
      `images: ${summary.imageCount}, series: ${summary.seriesCount}, studies: ${summary.studyCount}, ` +
        `files: ${summary.fileCount}, bytes: ${summary.byteCount}`,
      `warnings: ${summary.warningCount}, errors: ${summary.errorCount}, duplicates: ` +
        `${summary.duplicateCount}, conflicts: ${summary.conflictCount}, skipped: ${summary.skippedCount}, ` +
        `failed: ${summary.failedCount}`,
      `de-identified: ${summary.deidentifiedCount}, held back: ${summary.heldBackCount}`,
      `started: ${summary.startedAt ?? '-'}, finished: ${summary.finishedAt ?? '-'}`,
    );
  }
  out.push(workflowLine);
  if (progress) out.push(`progress: ${progress.phase}, ${progress.filesDone}/${progress.fileCount} files`);
  if (messages.length > 0) {
    out.push('last messages:');
    for (const message of messages) out.push(`  ${message.level}: ${message.message}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
