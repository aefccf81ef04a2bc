import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { importWorkflowId } from '../../src/temporal/workflow-ids';
import { type ImageTemplate, loadTemplate, writeVariants } from './corpus';
import { Harness } from './harness';
import { CliProcess } from './processes';
import { type ScenarioOptions, type ScenarioResult, Tally } from './result';
import { verifyBatch } from './verify';

const FILES_PER_FOLDER = 12;

/** Waits for the import workflow of a folder to exist and close. */
async function waitForImport(h: Harness, batchName: string, timeoutMs: number) {
  const handle = h.client.workflow.getHandle(importWorkflowId(batchName));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await handle.describe();
      return h.waitForClose(handle, Math.max(0, deadline - Date.now()));
    } catch {
      // Not started yet: the watcher has not seen the folder.
      await sleep(500);
    }
  }
  return { status: 'NEVER_STARTED', result: undefined };
}

async function executionsOf(h: Harness, batchName: string): Promise<number> {
  let count = 0;
  const query = `WorkflowId = '${importWorkflowId(batchName).replace(/'/g, "\\'")}'`;
  for await (const execution of h.client.workflow.list({ query })) {
    void execution;
    count += 1;
  }
  return count;
}

/**
 * Stops the watcher (SIGTERM, later kill -9) while folders arrive. Some are renamed from `.tmp`
 * while it is down, some are written under their finished name, and some are still in progress
 * when it comes back and are renamed after. Each folder must get exactly one import.
 */
export async function watcherScenario(_options: ScenarioOptions): Promise<ScenarioResult> {
  const tally = new Tally('watcher stopped while folders arrive');
  const h = await Harness.create('watcher');
  const watcher = new CliProcess('watch', h.env, path.join(h.logDir, 'watch.log'));
  const template: ImageTemplate = loadTemplate();
  const uids = new Map<string, string[]>();
  let next = 0;
  const fill = (folder: string, batch: string, count = FILES_PER_FOLDER) => {
    const written = writeVariants(template, path.join(h.dataDir, folder), next, count);
    next += count;
    uids.set(batch, [...(uids.get(batch) ?? []), ...written]);
  };
  const rename = (from: string, to: string) =>
    fs.renameSync(path.join(h.dataDir, from), path.join(h.dataDir, to));
  let watcherRestarts = 0;
  let watcherKills = 0;
  try {
    await h.worker.start();
    await watcher.start();
    fill('A.tmp', 'A');
    rename('A.tmp', 'A');

    await watcher.stop('SIGTERM');
    fill('B.tmp', 'B');
    rename('B.tmp', 'B');
    fill('C', 'C');
    fill('D.tmp', 'D');
    fill('E.tmp', 'E', 6);
    await watcher.start();
    watcherRestarts += 1;
    await sleep(3_000);
    rename('D.tmp', 'D');
    fill('E.tmp', 'E', 6);
    rename('E.tmp', 'E');

    fill('F.tmp', 'F');
    await watcher.stop('SIGKILL');
    watcherKills += 1;
    rename('F.tmp', 'F');
    fill('G', 'G');
    await watcher.start();
    watcherRestarts += 1;

    // Every import closes first: a batch still running has live temporary files in storage.
    const closedOf = new Map<string, Awaited<ReturnType<typeof waitForImport>>>();
    for (const batchName of uids.keys()) closedOf.set(batchName, await waitForImport(h, batchName, 5 * 60_000));
    for (const [batchName, expected] of uids) {
      const closed = closedOf.get(batchName) as Awaited<ReturnType<typeof waitForImport>>;
      tally.add(await verifyBatch(h, { batchName, uids: expected, closed }), batchName);
      const runs = await executionsOf(h, batchName);
      tally.check(runs === 1, `${batchName}: ${runs} import workflows`);
    }
    tally.notes.push(`${uids.size} folders`);
    return tally.result([h], { kills: watcherKills, restarts: watcherRestarts });
  } finally {
    await watcher.stop('SIGTERM');
    await h.close();
  }
}
