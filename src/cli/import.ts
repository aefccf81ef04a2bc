import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { connectClient, startImport, workflowUiLink } from '../temporal/client';
import type { ImportBatchResult, ImportProgress } from '../../workflows/types';
import { resolveFolder } from './batches';
import { progressPrinter } from './progress-bar';
import type { CommandContext } from './runtime';

const POLL_MS = 1000;

/** Starts the import of one folder by hand; with `wait`, shows progress until it ends. */
export async function runImport(
  context: CommandContext,
  folder: string,
  options: { wait?: boolean },
): Promise<void> {
  const { config } = context;
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
    process.stdout.write(`Temporal UI: ${workflowUiLink(config, started.workflowId)}\n`);
    if (!options.wait) return;

    const handle = temporal.client.workflow.getHandle(started.workflowId);
    const outcome = await followImport(context, handle);
    process.stdout.write(
      `${outcome.batchName}: ${outcome.status}, ${outcome.figures.imageCount} images, ` +
        `${outcome.figures.seriesCount} series, ${outcome.figures.warningCount} warnings, ` +
        `${outcome.figures.failedCount} failed, source ${outcome.source.action}\n`,
    );
  } finally {
    await temporal.close();
  }
}

/** Queries the progress once a second until the workflow ends, and returns its result. */
async function followImport(
  { log }: CommandContext,
  handle: WorkflowHandle,
): Promise<ImportBatchResult> {
  const printer = progressPrinter(process.stdout);
  let finished = false;
  const result = (handle.result() as Promise<ImportBatchResult>).finally(() => {
    finished = true;
  });
  let waitingNoted = false;
  try {
    while (!finished) {
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, POLL_MS))]);
      if (finished) break;
      let progress: ImportProgress;
      try {
        progress = await handle.query<ImportProgress>('progress');
      } catch (error) {
        log.debug({ error: (error as Error).message }, 'progress query failed');
        continue;
      }
      printer.show(progress);
      if (progress.phase === 'waiting' && !waitingNoted) {
        printer.finish();
        process.stdout.write(
          `${progress.failed} file(s) failed after their retries; the import waits for a decision: ` +
            `run \`dicom-import retry ${progress.batchName}\`, or send signal \`decide\` ` +
            'with {"action":"retry"} or {"action":"skip"}\n',
        );
      }
      waitingNoted = progress.phase === 'waiting';
    }
  } finally {
    printer.finish();
  }
  return result;
}
