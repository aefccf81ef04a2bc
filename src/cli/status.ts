import path from 'node:path';
import { batchSummary, findBatch, recentMessages } from '../db/batches';
import { openDatabaseForCommand } from '../db/open';
import { connectClient, workflowUiLink } from '../temporal/client';
import { importWorkflowId } from '../temporal/workflow-ids';
import type { CommandContext } from './runtime';
import { describeImport, type ImportWorkflowState } from './workflow-state';

const ERRORS_SHOWN = 5;
const WARNINGS_SHOWN = 5;

type Messages = Awaited<ReturnType<typeof recentMessages>>;
type Row = NonNullable<Awaited<ReturnType<typeof findBatch>>>;

async function readBatch(context: CommandContext, batchName: string) {
  const database = await openDatabaseForCommand(context.config);
  try {
    const row = await findBatch(database.db, batchName);
    const messages: Messages = row ? await recentMessages(database.db, row.id, 100) : [];
    return { row, messages };
  } finally {
    await database.close();
  }
}

/** Reads the workflow state; a Temporal fault becomes a line of the output, not an error. */
async function readWorkflow({ config, log }: CommandContext, batchName: string) {
  let temporal;
  try {
    temporal = await connectClient(config);
  } catch (error) {
    log.debug({ error: (error as Error).message }, 'Temporal connection failed');
    return { note: `workflow: Temporal at ${config.temporalAddress} not reachable` };
  }
  try {
    return { state: await describeImport(temporal.client, batchName) };
  } catch (error) {
    return { note: `workflow: ${(error as Error).message}` };
  } finally {
    await temporal.close();
  }
}

function batchLines(row: Row): string[] {
  const summary = batchSummary(row);
  return [
    `status: ${summary.status}${summary.hasError ? ' (has errors)' : ''}`,
    `images: ${summary.imageCount}, series: ${summary.seriesCount}, studies: ${summary.studyCount}, ` +
      `files: ${summary.fileCount}, bytes: ${summary.byteCount}`,
    `warnings: ${summary.warningCount}, errors: ${summary.errorCount}, ` +
      `duplicates: ${summary.duplicateCount}, conflicts: ${summary.conflictCount}, ` +
      `skipped: ${summary.skippedCount}, failed: ${summary.failedCount}`,
    `de-identified: ${summary.deidentifiedCount}, held back: ${summary.heldBackCount}`,
    `started: ${summary.startedAt ?? '-'}, finished: ${summary.finishedAt ?? '-'}`,
  ];
}

function workflowLines(state: ImportWorkflowState): string[] {
  const batchStatus = state.batchStatus ?? 'no status';
  const lines = [`workflow: ${state.workflowId} ${state.execution} (${batchStatus})`];
  const progress = state.progress;
  if (progress) {
    lines.push(
      `phase: ${progress.phase}, ${progress.filesDone}/${progress.fileCount} files, ` +
        `${progress.warningCount} warnings, ${progress.failed} failed`,
    );
    for (const file of progress.failedFiles) {
      lines.push(`  failed: ${file.relativePath}: ${file.reason ?? '-'}`);
    }
    if (progress.phase === 'waiting') {
      lines.push(
        `waiting for a decision: run \`dicom-import retry ${progress.batchName}\` ` +
          'or send signal decide',
      );
    }
  }
  return lines;
}

/** Prints the batch's phase, figures, last errors and warnings, and the Temporal UI link. */
export async function runStatus(context: CommandContext, folder: string): Promise<void> {
  const batchName = path.basename(folder);
  const { row, messages } = await readBatch(context, batchName);
  const workflow = await readWorkflow(context, batchName);
  if (!row && !workflow.state) throw new Error(`no batch named ${batchName}`);

  const out = [`batch: ${batchName}`];
  if (row) out.push(...batchLines(row));
  else out.push('status: not in the database yet');
  if (workflow.state) out.push(...workflowLines(workflow.state));
  else out.push(workflow.note ?? 'workflow: none');
  out.push(`Temporal UI: ${workflowUiLink(context.config, importWorkflowId(batchName))}`);

  const errors = messages.filter((message) => message.level === 'error').slice(0, ERRORS_SHOWN);
  const warnings = messages.filter((message) => message.level === 'warning').slice(0, WARNINGS_SHOWN);
  const indented = (message: Messages[number]) => `  ${message.message}`;
  if (errors.length > 0) out.push('last errors:', ...errors.map(indented));
  if (warnings.length > 0) out.push('last warnings:', ...warnings.map(indented));
  process.stdout.write(`${out.join('\n')}\n`);
}
