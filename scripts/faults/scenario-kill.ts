import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadTemplate, writeVariants } from './corpus';
import { Harness } from './harness';
import { type ScenarioOptions, type ScenarioResult, Tally, seededRandom } from './result';
import { verifyBatch } from './verify';

/** Time a restarted worker may take to make progress: heartbeat timeout, retry backoff, start-up. */
const RECOVERY_MS = 180_000;

/**
 * Kills the worker with `kill -9` at seeded random moments while one folder of real-size images is
 * imported and de-identified. After each kill a new worker starts, and the next kill waits until
 * that worker has made progress.
 */
export async function killScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const tally = new Tally('kill -9 of the worker');
  const random = seededRandom(options.seed);
  const h = await Harness.create('kill');
  try {
    const uids = writeVariants(loadTemplate(), path.join(h.dataDir, 'KILL'), 0, options.files);
    await h.worker.start();
    const handle = await h.startImport('KILL');

    let slowest = 0;
    while (h.kills < options.kills) {
      const before = await h.progress('KILL');
      const restartedAt = Date.now();
      if (!(await h.waitForProgress('KILL', before, RECOVERY_MS))) {
        tally.problems.push(`no progress within ${RECOVERY_MS} ms after restart ${h.restarts}`);
        break;
      }
      if (h.kills > 0) slowest = Math.max(slowest, Date.now() - restartedAt);
      // A random moment within the next 1.5 s of work: reading, storing, committing or de-identifying.
      await sleep(Math.floor(random() * 1_500));
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') break;
      await h.killWorker();
      await h.restartWorker();
    }
    tally.check(h.kills >= options.kills, `only ${h.kills} kills before the import finished`);

    const closed = await h.waitForClose(handle, 30 * 60_000);
    tally.add(await verifyBatch(h, { batchName: 'KILL', uids, closed }));
    tally.notes.push(`${options.files} files`, `slowest recovery ${Math.round(slowest / 1000)} s`);
    return tally.result([h]);
  } finally {
    await h.close();
  }
}
