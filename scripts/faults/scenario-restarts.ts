import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadTemplate, writeVariants } from './corpus';
import { Harness } from './harness';
import { type ScenarioOptions, type ScenarioResult, Tally } from './result';
import { verifyBatch } from './verify';

/** The local cluster, as `pg_ctlcluster` names it: the one version under /etc/postgresql. */
function postgresCluster(): { version: string; name: string } {
  const versions = fs.readdirSync('/etc/postgresql').filter((entry) => /^\d+$/.test(entry));
  const version = versions.sort().at(-1);
  if (!version) throw new Error('no cluster under /etc/postgresql');
  const names = fs.readdirSync(path.join('/etc/postgresql', version));
  return { version, name: names.includes('main') ? 'main' : (names[0] as string) };
}

/** Restarts the local Postgres server in fast mode: open connections are closed at once. */
function restartPostgres(): number {
  const { version, name } = postgresCluster();
  const started = Date.now();
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', '-m', 'fast', version, name, 'restart'], {
    stdio: 'pipe',
    timeout: 60_000,
  });
  return Date.now() - started;
}

/** Restarts PostgreSQL twice mid-import: activities retry and nothing is stored twice. */
export async function postgresScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const tally = new Tally('PostgreSQL restarted mid-import');
  const h = await Harness.create('postgres');
  const files = Math.min(options.files, 200);
  let restarts = 0;
  try {
    const uids = writeVariants(loadTemplate(), path.join(h.dataDir, 'PG'), 0, files);
    await h.worker.start();
    const handle = await h.startImport('PG');
    for (const share of [0.2, 0.6]) {
      if (!(await h.waitForProgress('PG', Math.floor(files * share), 120_000))) break;
      tally.notes.push(`restart took ${restartPostgres()} ms`);
      restarts += 1;
    }
    tally.check(restarts === 2, `${restarts} of 2 restarts done before the import finished`);
    const closed = await h.waitForClose(handle, 15 * 60_000);
    tally.add(await verifyBatch(h, { batchName: 'PG', uids, closed }));
    tally.check(h.worker.running, 'worker process exited during the restarts');
    return tally.result([h], { restarts });
  } finally {
    await h.close();
  }
}

/** Stops the Temporal dev server twice mid-import and starts it again with its state file. */
export async function temporalScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const tally = new Tally('Temporal server restarted mid-import');
  const h = await Harness.create('temporal');
  const files = Math.min(options.files, 200);
  try {
    const uids = writeVariants(loadTemplate(), path.join(h.dataDir, 'TEMPORAL'), 0, files);
    await h.worker.start();
    const handle = await h.startImport('TEMPORAL');
    for (const share of [0.25, 0.7]) {
      if (!(await h.waitForProgress('TEMPORAL', Math.floor(files * share), 120_000))) break;
      await h.restartTemporal(3_000);
    }
    tally.check(h.restarts === 2, `${h.restarts} of 2 restarts done before the import finished`);
    const closed = await h.waitForClose(handle, 15 * 60_000);
    tally.add(await verifyBatch(h, { batchName: 'TEMPORAL', uids, closed }));
    tally.check(h.worker.running, 'worker process exited during the restarts');
    return tally.result([h]);
  } finally {
    await h.close();
  }
}
