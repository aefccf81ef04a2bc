import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { MAX_FILE_BYTES } from '../src/importer/read-file';
import { freePort, runCli, spawnCli } from './helpers/cli';
import { copyCorpusFolder, createTestDirs, type TestDirs } from './helpers/fixtures';

const STUDY = 'studies/77654033';
const BAD_FILE = 'CT2/17136';
const PATIENT_NAME = 'Doe^Archibald';

describe('cli help', () => {
  for (const command of ['import', 'status', 'list', 'retry', 'report']) {
    test(`${command} --help`, () => {
      const result = runCli([command, '--help']);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`Usage: dicom-import ${command}`));
    });
  }
});

test('list rejects bad status', () => {
  const result = runCli(['list', '--status', 'FINE']);
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /FINE is not a batch status/);
});

/** Copies the study to `folder` and makes BAD_FILE too large to read; returns its bytes. */
function failingStudy(folder: string): Buffer {
  copyCorpusFolder(STUDY, folder);
  const file = path.join(folder, BAD_FILE);
  const original = fs.readFileSync(file);
  fs.rmSync(file);
  fs.writeFileSync(file, '');
  fs.truncateSync(file, MAX_FILE_BYTES + 1);
  return original;
}

function restore(folder: string, original: Buffer): void {
  fs.rmSync(path.join(folder, BAD_FILE));
  fs.writeFileSync(path.join(folder, BAD_FILE), original);
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(300);
  }
}

describe('cli against start', () => {
  let dirs: TestDirs;
  let env: NodeJS.ProcessEnv;
  let start: ReturnType<typeof spawnCli>;
  let uiPort: number;
  let client: Client;
  let connection: Connection;

  const statusOf = (name: string) => runCli(['status', name], env).stdout;

  before(async () => {
    dirs = createTestDirs({ FILE_MAX_ATTEMPTS: '2' });
    const port = await freePort();
    uiPort = await freePort();
    env = {
      DATA_DIR: dirs.config.dataDir,
      MEDIA_DIR: dirs.config.mediaDir,
      DEID_DIR: dirs.config.deidDir,
      STATE_DIR: dirs.config.stateDir,
      SETTLE_SECONDS: '1',
      RESCAN_SECONDS: '1',
      FILE_MAX_ATTEMPTS: '2',
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      TEMPORAL_UI_PORT: String(uiPort),
      DATABASE_URL: '',
    };
    start = spawnCli(['start', '--port', String(port), '--ui-port', String(uiPort)], env);
    await until('start', () => start.output.stdout.includes('dicom-import is running') || start.child.exitCode !== null);
    assert.match(start.output.stdout, /dicom-import is running/, start.output.stderr.slice(-3000));
    connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    client = new Client({ connection });
  });

  after(async () => {
    await connection?.close();
    start?.child.kill('SIGINT');
    await start?.exited;
    dirs?.cleanup();
  });

  test('import waits, retry resumes it', { timeout: 180_000 }, async () => {
    const folder = path.join(dirs.root, 'incoming', 'B1');
    const original = failingStudy(folder);
    const importing = spawnCli(['import', folder, '--wait'], env);

    await until('B1 waiting', () => statusOf('B1').includes('phase: waiting'));
    const status = statusOf('B1');
    assert.match(status, /workflow: import:B1 RUNNING \(WAITING\)/);
    assert.match(status, new RegExp(`failed: ${BAD_FILE}: `));
    assert.match(status, /last errors:/);
    const link = `http://127.0.0.1:${uiPort}/namespaces/default/workflows/import%3AB1`;
    assert.ok(status.includes(`Temporal UI: ${link}`), status);

    const found: string[] = [];
    for await (const execution of client.workflow.list({ query: 'DicomBatchName = "B1"' })) {
      found.push(execution.workflowId);
    }
    assert.deepEqual(found, ['import:B1']);

    restore(folder, original);
    const retry = runCli(['retry', 'B1'], env);
    assert.equal(retry.status, 0, retry.stderr);
    assert.match(retry.stdout, /sent the retry decision for 1 failed file\(s\)/);

    const code = await importing.exited;
    assert.equal(code, 0, importing.output.stderr);
    assert.match(importing.output.stdout, /waiting: 7\/7 files, .* files\/s, \d+ warnings, 1 failed/);
    assert.match(importing.output.stdout, /B1: DONE, 7 images, 4 series, 0 warnings, 0 failed, source removed/);
    assert.match(statusOf('B1'), /status: DONE/);
  });

  test('retry starts new run after skip', { timeout: 180_000 }, async () => {
    const inProgress = path.join(dirs.config.dataDir, 'B2.tmp');
    const original = failingStudy(inProgress);
    fs.renameSync(inProgress, path.join(dirs.config.dataDir, 'B2'));
    await until('B2 waiting', () => statusOf('B2').includes('phase: waiting'));

    const handle = client.workflow.getHandle('import:B2');
    await handle.signal('decide', { action: 'skip' });
    await handle.result();
    const errorFolder = path.join(dirs.config.dataDir, 'B2.err');
    assert.equal(fs.existsSync(errorFolder), true, 'folder renamed .err');
    assert.match(statusOf('B2'), /status: ERROR/);

    const notRunning = runCli(['list', '--status', 'ERROR', '--json'], env);
    const errorNames = (JSON.parse(notRunning.stdout) as Array<{ name: string }>).map((row) => row.name);
    assert.deepEqual(errorNames, ['B2']);

    restore(errorFolder, original);
    const retry = runCli(['retry', 'B2'], env);
    assert.equal(retry.status, 0, retry.stderr);
    assert.match(retry.stdout, /(started a new import|already running)/);
    await until('B2 done', () => statusOf('B2').includes('status: DONE'));
    assert.equal(fs.existsSync(errorFolder), false, '.err folder taken back');

    const again = runCli(['retry', 'B2'], env);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /nothing to retry: the import of B2 finished DONE/);
  });

  test('list and report filter', () => {
    const done = runCli(['list', '--status', 'done', '--json'], env);
    assert.equal(done.status, 0, done.stderr);
    const names = (JSON.parse(done.stdout) as Array<{ name: string }>).map((row) => row.name).sort();
    assert.deepEqual(names, ['B1', 'B2']);

    const future = runCli(['list', '--since', '2999-01-01', '--json'], env);
    assert.deepEqual(JSON.parse(future.stdout), []);
    const past = runCli(['list', '--until', '2000-01-01'], env);
    assert.equal(past.stdout.trim().split('\n').length, 1, 'header only');

    const table = runCli(['list'], env);
    assert.match(table.stdout, /^name +status +images/);

    const report = runCli(['report', '--format', 'tsv'], env);
    assert.equal(report.status, 0, report.stderr);
    const [header, ...rows] = report.stdout.trim().split('\n').map((line) => line.split('\t'));
    assert.deepEqual(header, [
      'name', 'status', 'images', 'series', 'bytes', 'start', 'finish', 'seconds', 'warnings',
    ]);
    assert.deepEqual(rows.map((row) => row[0]), ['B1', 'B2']);
    const b1 = rows[0] ?? [];
    assert.equal(b1[1], 'DONE');
    assert.equal(b1[2], '7');
    assert.equal(b1[3], '4');
    assert.ok(Number(b1[4]) > 0, 'bytes');
    assert.ok(!Number.isNaN(Date.parse(b1[5] ?? '')), 'start is a date');
    assert.ok(!Number.isNaN(Date.parse(b1[6] ?? '')), 'finish is a date');
    assert.ok(Number(b1[7]) > 0, 'seconds');
    assert.equal(b1[8], '0');
  });

  test('worker logs carry ids', () => {
    const lines = start.output.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const activityLines = lines.filter((line) => line.sdkComponent === 'activity');
    assert.ok(activityLines.length > 0, 'activity lines logged');
    for (const line of activityLines) {
      assert.equal(typeof line.batchName, 'string', `batchName on ${line.msg}`);
      assert.equal(typeof line.workflowId, 'string', `workflowId on ${line.msg}`);
      assert.equal(typeof line.attempt, 'number', `attempt on ${line.msg}`);
    }
    const workflowLines = lines.filter((line) => line.sdkComponent === 'workflow');
    assert.ok(workflowLines.some((line) => line.msg === 'decision received'), 'decision logged');
    for (const line of workflowLines) assert.equal(typeof line.batchName, 'string', `batchName on ${line.msg}`);
    const retried = lines.find((line) => line.msg === 'activity retry');
    assert.equal(retried?.attempt, 2);
    assert.equal(retried?.batchName, 'B1');
    assert.ok(lines.some((line) => line.msg === 'import started' && line.batchName === 'B2'), 'watcher start');
    assert.equal(start.output.stderr.includes(PATIENT_NAME), false, 'no patient name in logs');
  });
});
