import path from 'node:path';
import { loadTemplate, writeVariants } from './corpus';
import { Harness } from './harness';
import { type ScenarioOptions, type ScenarioResult, Tally } from './result';
import { verifyBatch } from './verify';

/** heartbeatTimeout of the import activities in workflows/import-batch.ts. */
const HEARTBEAT_TIMEOUT_MS = 60_000;
/** shutdownGraceTime of the worker (src/temporal/worker.ts) plus start-up and exit time. */
const SHUTDOWN_LIMIT_MS = 20_000;
/** Worker start-up, the first retry interval and the poll, on top of the heartbeat timeout. */
const RETRY_SLACK_MS = 30_000;

/**
 * Sends SIGTERM to the worker mid-import: it must exit within its grace time, handing back or
 * finishing its activities, and a new worker goes on at once. Then `kill -9`: the dead worker's
 * activities must be retried within the heartbeat timeout, not the 30-minute start-to-close one.
 */
export async function sigtermScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const tally = new Tally('SIGTERM, then kill -9, of the worker');
  const h = await Harness.create('sigterm');
  const files = Math.min(options.files, 300);
  try {
    const uids = writeVariants(loadTemplate(), path.join(h.dataDir, 'TERM'), 0, files);
    await h.worker.start();
    const handle = await h.startImport('TERM');

    await h.waitForProgress('TERM', Math.floor(files * 0.2), 120_000);
    const offset = h.worker.logSince(0).length;
    const stopped = await h.worker.stop('SIGTERM', 60_000);
    const log = h.worker.logSince(offset);
    tally.check(stopped.exit === 0, `worker exit after SIGTERM: ${stopped.exit}`);
    tally.check(stopped.ms < SHUTDOWN_LIMIT_MS, `worker took ${stopped.ms} ms to stop`);
    tally.check(log.includes('"worker stopped"'), 'worker did not log its stop');
    tally.notes.push(`SIGTERM exit in ${(stopped.ms / 1000).toFixed(1)} s`);

    const afterTerm = await h.progress('TERM');
    await h.restartWorker();
    const termStart = Date.now();
    const resumed = await h.waitForProgress('TERM', afterTerm, HEARTBEAT_TIMEOUT_MS);
    tally.check(resumed, 'no progress within the heartbeat timeout after SIGTERM');
    tally.notes.push(`resumed ${((Date.now() - termStart) / 1000).toFixed(1)} s after SIGTERM restart`);

    await h.waitForProgress('TERM', Math.floor(files * 0.5), 120_000);
    await h.killWorker();
    const killedAt = Date.now();
    const afterKill = await h.progress('TERM');
    await h.restartWorker();
    const retried = await h.waitForProgress('TERM', afterKill, HEARTBEAT_TIMEOUT_MS + RETRY_SLACK_MS);
    const recoveryMs = Date.now() - killedAt;
    tally.check(retried, `no retry within ${HEARTBEAT_TIMEOUT_MS + RETRY_SLACK_MS} ms of kill -9`);
    tally.notes.push(`retried ${(recoveryMs / 1000).toFixed(0)} s after kill -9`);

    const closed = await h.waitForClose(handle, 15 * 60_000);
    tally.add(await verifyBatch(h, { batchName: 'TERM', uids, closed }));
    return tally.result([h]);
  } finally {
    await h.close();
  }
}
