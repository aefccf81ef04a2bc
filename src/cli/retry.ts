import fs from 'node:fs';
import path from 'node:path';
import { connectClient, startImport, workflowUiLink } from '../temporal/client';
import type { CommandContext } from './runtime';
import { describeImport } from './workflow-state';

/** Final DicomBatchStatus values that leave nothing to retry. */
const FINISHED_CLEAN = new Set(['DONE', 'EMPTY']);

/**
 * Finds the folder of a new run: `<name>` under DATA_DIR, or `<name>.err`, which is renamed back
 * to `<name>` so the new import keeps the batch name.
 */
function folderForNewRun({ config, log }: CommandContext, batchName: string): string {
  const folderPath = path.join(config.dataDir, batchName);
  if (fs.existsSync(folderPath)) return folderPath;
  // NOTE: only `<name>.err` is looked for, not the `<name>.2.err` of later failed deliveries.
  const errorFolder = `${folderPath}.err`;
  if (!fs.existsSync(errorFolder)) {
    throw new Error(`cannot retry ${batchName}: neither ${folderPath} nor ${errorFolder} exists`);
  }
  fs.renameSync(errorFolder, folderPath);
  log.info({ batchName, from: path.basename(errorFolder) }, 'error folder renamed for a new run');
  return folderPath;
}

/**
 * Retries a batch: sends the `retry` decision when its import waits on failed files, or starts a new
 * import when the last one ended with errors, failed or was stopped. Throws when the import is
 * running without waiting, or ended clean.
 */
export async function runRetry(context: CommandContext, folder: string): Promise<void> {
  const { config, log } = context;
  const batchName = path.basename(folder);
  const temporal = await connectClient(config);
  try {
    const state = await describeImport(temporal.client, batchName);
    if (state?.execution === 'RUNNING') {
      if (state.progress?.phase !== 'waiting') {
        const phase = state.progress?.phase ?? '-';
        throw new Error(`nothing to retry: the import of ${batchName} is running (phase ${phase})`);
      }
      await temporal.client.workflow.getHandle(state.workflowId).signal('decide', { action: 'retry' });
      log.info({ batchName, workflowId: state.workflowId, failed: state.progress.failed }, 'retry sent');
      process.stdout.write(
        `sent the retry decision for ${state.progress.failed} failed file(s) ` +
          `to workflow ${state.workflowId}\n`,
      );
      return;
    }
    if (state?.execution === 'COMPLETED' && FINISHED_CLEAN.has(state.batchStatus ?? '')) {
      throw new Error(`nothing to retry: the import of ${batchName} finished ${state.batchStatus}`);
    }

    const folderPath = folderForNewRun(context, batchName);
    const started = await startImport(temporal.client, config, batchName, folderPath);
    log.info({ batchName, workflowId: started.workflowId, started: started.started }, 'retry run');
    process.stdout.write(
      started.started
        ? `started a new import of ${batchName} (workflow ${started.workflowId})\n`
        : `an import of ${batchName} is already running (workflow ${started.workflowId})\n`,
    );
    process.stdout.write(`Temporal UI: ${workflowUiLink(config, started.workflowId)}\n`);
  } finally {
    await temporal.close();
  }
}
