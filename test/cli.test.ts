import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { freePort, runCli, spawnCli } from './helpers/cli';
import { CORPUS, copyCorpusFolder, createTestDirs, listFiles, loadManifest } from './helpers/fixtures';
import { expectedValues, reasonCategory } from './helpers/manifest';

const COMMANDS = ['start', 'worker', 'watch', 'migrate', 'import', 'status', 'list', 'inspect'];

describe('cli help', () => {
  for (const command of COMMANDS) {
    test(`${command} --help`, () => {
      const result = runCli([command, '--help']);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`Usage: dicom-import ${command}`));
    });
  }
});

test('inspect matches manifest', () => {
  const manifest = loadManifest();
  const result = runCli(['inspect', '--json', ...manifest.map((entry) => path.join(CORPUS, entry.path))]);
  assert.equal(result.status, 0, result.stderr);
  const entries = JSON.parse(result.stdout) as Array<{
    path: string;
    outcome: string;
    reason?: string;
    encoding?: string;
    values?: Record<string, string>;
  }>;
  assert.equal(entries.length, manifest.length);
  for (const [index, entry] of manifest.entries()) {
    const output = entries[index];
    assert.ok(output, `${entry.path}: printed`);
    assert.equal(output.path, path.join(CORPUS, entry.path));
    assert.equal(output.outcome, entry.expect, `${entry.path}: outcome`);
    if (entry.expect === 'skip') {
      assert.equal(reasonCategory(output.reason ?? ''), reasonCategory(entry.reason ?? ''), `${entry.path}: reason`);
      continue;
    }
    assert.equal(output.encoding, entry.encoding, `${entry.path}: encoding`);
    for (const [key, value] of Object.entries(expectedValues(entry.path, entry.values))) {
      assert.equal(output.values?.[key], value, `${entry.path}: ${key}`);
    }
  }
});

test('inspect names an unreadable path', () => {
  const result = runCli(['inspect', '--json', '/nonexistent/file.dcm']);
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /\/nonexistent\/file\.dcm/);
});

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

test('start imports a renamed folder', async () => {
  const dirs = createTestDirs({ SETTLE_SECONDS: '2', RESCAN_SECONDS: '1' });
  const [port, uiPort] = [await freePort(), await freePort()];
  const env = {
    DATA_DIR: dirs.config.dataDir,
    MEDIA_DIR: dirs.config.mediaDir,
    DEID_DIR: dirs.config.deidDir,
    STATE_DIR: dirs.config.stateDir,
    SETTLE_SECONDS: '2',
    RESCAN_SECONDS: '1',
    TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    DATABASE_URL: '',
  };
  const start = spawnCli(['start', '--port', String(port), '--ui-port', String(uiPort)], env);
  try {
    const deadline = Date.now() + 120_000;
    while (!start.output.stdout.includes('dicom-import is running') && Date.now() < deadline) {
      if (start.child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.match(start.output.stdout, /dicom-import is running/, start.output.stderr.slice(-3000));
    assert.match(start.output.stdout, new RegExp(`Temporal UI: +http://127\\.0\\.0\\.1:${uiPort}`));
    assert.match(start.output.stdout, new RegExp(`Data folder: +${dirs.config.dataDir}`));

    const inProgress = path.join(dirs.config.dataDir, 'X.tmp');
    copyCorpusFolder('studies/77654033', inProgress);
    const sources = listFiles(inProgress).map((file) => sha256(path.join(inProgress, file))).sort();
    fs.renameSync(inProgress, path.join(dirs.config.dataDir, 'X'));

    let batch: Record<string, unknown> | undefined;
    while (Date.now() < deadline) {
      // Another process: it must reach the embedded database through the running `start`.
      const list = runCli(['list', '--json'], env);
      assert.equal(list.status, 0, list.stderr);
      batch = (JSON.parse(list.stdout) as Array<Record<string, unknown>>).find((b) => b.name === 'X');
      if (batch?.status === 'DONE' && !fs.existsSync(path.join(dirs.config.dataDir, 'X'))) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(batch?.status, 'DONE');
    assert.equal(batch?.imageCount, 7);
    assert.equal(batch?.seriesCount, 4);
    assert.equal(batch?.studyCount, 2);
    assert.equal(batch?.warningCount, 0);
    assert.equal(fs.existsSync(path.join(dirs.config.dataDir, 'X')), false, 'source folder removed');

    const media = listFiles(dirs.config.mediaDir).map((file) => sha256(path.join(dirs.config.mediaDir, file)));
    assert.deepEqual(media.sort(), sources, 'media copies match the sources');
    assert.equal(listFiles(dirs.config.deidDir).length, 7, 'de-identified copies written');

    const status = runCli(['status', 'X'], env);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /status: DONE/);
    assert.match(status.stdout, /workflow: import:X COMPLETED/);
  } finally {
    start.child.kill('SIGINT');
    const code = await start.exited;
    dirs.cleanup();
    assert.equal(code, 0, `start exited with ${code}: ${start.output.stderr.slice(-2000)}`);
  }
});
