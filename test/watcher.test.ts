import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';

import { isFinishedFolderName, isInProgressFolderName } from '../src/watcher/folders';
import { MAX_WALK_DEPTH, walkTree, waitUntilSettled, Limiter } from '../src/watcher/settle';
import { startWatcher, type TriggerReason, type Watcher } from '../src/watcher/watcher';

interface LogLine {
  level: string;
  obj: object;
  msg: string;
}

interface Call {
  name: string;
  reason: TriggerReason;
  atMs: number;
}

interface Harness {
  dataDir: string;
  calls: Call[];
  lines: LogLine[];
  watcher: Watcher;
}

const cleanups: Array<() => Promise<void>> = [];
const asRoot = process.getuid?.() === 0;

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function makeTempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'watcher-test-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function makeLog(lines: LogLine[]) {
  const record = (level: string) => (obj: object, msg: string) => lines.push({ level, obj, msg });
  return {
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    debug: record('debug'),
  };
}

async function start(
  dataDir: string,
  settleMs: number,
  rescanMs: number,
  trigger?: (name: string, reason: TriggerReason) => Promise<void>,
): Promise<Harness> {
  const calls: Call[] = [];
  const lines: LogLine[] = [];
  const watcher = startWatcher({
    dataDir,
    settleMs,
    rescanMs,
    log: makeLog(lines),
    trigger: async (name, reason) => {
      calls.push({ name, reason, atMs: Date.now() });
      if (trigger) await trigger(name, reason);
    },
  });
  cleanups.push(() => watcher.close());
  await watcher.ready;
  return { dataDir, calls, lines, watcher };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(20);
  }
}

function writeFiles(dir: string, count: number, prefix = 'f'): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i += 1) fs.writeFileSync(path.join(dir, `${prefix}${i}.dcm`), 'x');
}

function hasLogLine(harness: Harness, msg: string, folder: string): boolean {
  return harness.lines.some(
    (line) => line.msg === msg && (line.obj as { folder?: string }).folder === folder,
  );
}

/** Waits until the watcher has recorded the in-progress folder, so a rename can be matched. */
async function waitForInProgress(harness: Harness, name: string): Promise<void> {
  await waitFor(() => hasLogLine(harness, 'in-progress folder seen', name), 3000, `${name} seen`);
}

describe('folder names', () => {
  const cases: Array<[string, boolean, boolean]> = [
    // name, finished, in progress
    ['L123', true, false],
    ['L123.tmp', false, true],
    ['x.tmp1234', false, true],
    ['x.TMP', false, true],
    ['x.tmp.err', false, false],
    ['L123.err', false, false],
    ['L123.ERR', false, false],
    ['.hidden', false, false],
    ['.tmp', false, false],
    ['.x.tmp', false, false],
    ['', false, false],
    ['a.b.c', true, false],
    ['a.tm', true, false],
    ['a.xtmp', true, false],
    ['tmp', true, false],
    ['L123.tmp.part', true, false],
    ['1.2.840.10008', true, false],
    ['a/b', false, false],
  ];

  for (const [name, finished, inProgress] of cases) {
    test(`name ${JSON.stringify(name)}`, () => {
      assert.equal(isFinishedFolderName(name), finished, 'isFinishedFolderName');
      assert.equal(isInProgressFolderName(name), inProgress, 'isInProgressFolderName');
    });
  }
});

describe('walkTree', () => {
  test('counts entries without following links', async () => {
    const root = makeTempDir();
    const outside = makeTempDir();
    writeFiles(path.join(root, 'a', 'b'), 3);
    fs.writeFileSync(path.join(root, 'top.dcm'), '12345');
    writeFiles(outside, 50);
    fs.symlinkSync(outside, path.join(root, 'link'));

    const walk = await walkTree(root);

    // a, a/b, 3 files, top.dcm, link
    assert.equal(walk.fingerprint.entryCount, 7);
    assert.ok(walk.fingerprint.totalBytes >= 3 + 5, 'totalBytes includes file sizes');
    assert.equal(walk.unreadable.length, 0);
    assert.equal(walk.truncated, false);
  });

  test('stops below max depth', async () => {
    const root = makeTempDir();
    const parts = Array.from({ length: MAX_WALK_DEPTH + 3 }, (_, i) => `d${i}`);
    fs.mkdirSync(path.join(root, ...parts), { recursive: true });

    const walk = await walkTree(root);

    assert.equal(walk.fingerprint.entryCount, MAX_WALK_DEPTH);
    assert.equal(walk.truncated, true);
  });

  test('20000 files without long event-loop stalls', async (t) => {
    const root = makeTempDir();
    writeFiles(root, 20_000);
    let maxGapMs = 0;
    let lastTickMs = Date.now();
    const ticker = setInterval(() => {
      const nowMs = Date.now();
      maxGapMs = Math.max(maxGapMs, nowMs - lastTickMs);
      lastTickMs = nowMs;
    }, 5);

    const startedMs = Date.now();
    const walk = await walkTree(root);
    const durationMs = Date.now() - startedMs;
    clearInterval(ticker);

    assert.equal(walk.fingerprint.entryCount, 20_000);
    t.diagnostic(`walk of 20000 files: ${durationMs} ms, max event-loop gap ${maxGapMs} ms`);
    const stall = `event loop stalled for ${maxGapMs} ms during a ${durationMs} ms walk`;
    assert.ok(maxGapMs < 250, stall);
  });

  test('reports unreadable directories', { skip: asRoot && 'root reads every file' }, async () => {
    const root = makeTempDir();
    writeFiles(path.join(root, 'locked'), 2);
    fs.chmodSync(path.join(root, 'locked'), 0o000);
    cleanups.push(async () => fs.chmodSync(path.join(root, 'locked'), 0o755));

    const walk = await walkTree(root);

    assert.equal(walk.unreadable.length, 1);
    assert.match(walk.unreadable[0] ?? '', /locked/);
  });
});

describe('waitUntilSettled', () => {
  test('returns false when aborted', async () => {
    const root = makeTempDir();
    const abort = new AbortController();
    const lines: LogLine[] = [];
    const settling = waitUntilSettled(root, {
      folder: 'x',
      settleMs: 10_000,
      signal: abort.signal,
      limiter: new Limiter(1),
      log: makeLog(lines),
    });

    setTimeout(() => abort.abort(), 100);

    assert.equal(await settling, false);
  });

  test('waits while entries are unreadable', { skip: asRoot && 'root reads every file' }, async () => {
    const root = makeTempDir();
    writeFiles(path.join(root, 'locked'), 2);
    fs.chmodSync(path.join(root, 'locked'), 0o000);
    cleanups.push(async () => fs.chmodSync(path.join(root, 'locked'), 0o755));
    const abort = new AbortController();
    const lines: LogLine[] = [];
    const settling = waitUntilSettled(root, {
      folder: 'x',
      settleMs: 200,
      signal: abort.signal,
      limiter: new Limiter(1),
      log: makeLog(lines),
    });

    setTimeout(() => abort.abort(), 1000);

    assert.equal(await settling, false);
    assert.equal(lines.filter((line) => line.level === 'warn').length, 1);
  });

  test('throws for a missing folder', async () => {
    const root = path.join(makeTempDir(), 'missing');
    const settling = waitUntilSettled(root, {
      folder: 'x',
      settleMs: 100,
      signal: new AbortController().signal,
      limiter: new Limiter(1),
      log: makeLog([]),
    });

    await assert.rejects(settling, { code: 'ENOENT' });
  });
});

describe('startWatcher', () => {
  test('renamed from .tmp triggers at once', async () => {
    const harness = await start(makeTempDir(), 5000, 60_000);
    const tmpDir = path.join(harness.dataDir, 'L100.tmp');
    fs.mkdirSync(tmpDir);
    await waitForInProgress(harness, 'L100.tmp');
    writeFiles(path.join(tmpDir, 'series1'), 20);

    const renamedMs = Date.now();
    fs.renameSync(tmpDir, path.join(harness.dataDir, 'L100'));
    await waitFor(() => harness.calls.length > 0, 4000, 'trigger');
    await sleep(300);

    assert.equal(harness.calls.length, 1);
    assert.equal(harness.calls[0]?.name, 'L100');
    assert.equal(harness.calls[0]?.reason, 'renamed');
    const delayMs = (harness.calls[0]?.atMs ?? Infinity) - renamedMs;
    assert.ok(delayMs < 2000, `triggered ${delayMs} ms after the rename`);
  });

  test('in-progress folder from scan renamed', async () => {
    const dataDir = makeTempDir();
    writeFiles(path.join(dataDir, 'L150.tmp42'), 3);
    const harness = await start(dataDir, 5000, 60_000);

    fs.renameSync(path.join(dataDir, 'L150.tmp42'), path.join(dataDir, 'L150'));
    await waitFor(() => harness.calls.length > 0, 4000, 'trigger');

    assert.equal(harness.calls.length, 1);
    assert.equal(harness.calls[0]?.name, 'L150');
    assert.equal(harness.calls[0]?.reason, 'renamed');
  });

  test('folder written in place waits until quiet', async () => {
    const harness = await start(makeTempDir(), 800, 60_000);
    const folder = path.join(harness.dataDir, 'L200');
    fs.mkdirSync(folder);

    const writeEndMs = Date.now() + 1500;
    for (let i = 0; Date.now() < writeEndMs; i += 1) {
      fs.mkdirSync(path.join(folder, `s${i % 3}`), { recursive: true });
      fs.writeFileSync(path.join(folder, `s${i % 3}`, `f${i}.dcm`), 'x'.repeat(i));
      await sleep(150);
    }
    const writtenMs = Date.now();
    assert.equal(harness.calls.length, 0, 'no trigger while written');

    await waitFor(() => harness.calls.length > 0, 5000, 'trigger');
    await sleep(500);

    assert.equal(harness.calls.length, 1);
    assert.equal(harness.calls[0]?.name, 'L200');
    assert.equal(harness.calls[0]?.reason, 'settled');
    const delayMs = (harness.calls[0]?.atMs ?? 0) - writtenMs;
    assert.ok(delayMs >= 600, `triggered ${delayMs} ms after the last write`);
  });

  test('folders present at start trigger once', async () => {
    const dataDir = makeTempDir();
    writeFiles(path.join(dataDir, 'A1'), 5);
    writeFiles(path.join(dataDir, 'B2', 'series'), 5);

    const harness = await start(dataDir, 300, 400);
    await waitFor(() => harness.calls.length >= 2, 5000, 'two triggers');
    await sleep(1000);

    const names = harness.calls.map((call) => call.name).sort();
    assert.deepEqual(names, ['A1', 'B2']);
    for (const call of harness.calls) assert.match(call.reason, /^(settled|rescan)$/);
  });

  test('ignored entries never trigger', async () => {
    const dataDir = makeTempDir();
    const outside = makeTempDir();
    writeFiles(path.join(outside, 'target'), 2);
    const makeIgnored = (suffix: string) => {
      writeFiles(path.join(dataDir, `.hidden${suffix}`), 1);
      writeFiles(path.join(dataDir, `L1${suffix}.tmp`), 1);
      writeFiles(path.join(dataDir, `x${suffix}.tmp1234`), 1);
      writeFiles(path.join(dataDir, `L2${suffix}.err`), 1);
      fs.writeFileSync(path.join(dataDir, `plain${suffix}`), 'not a folder');
      fs.symlinkSync(path.join(outside, 'target'), path.join(dataDir, `link${suffix}`));
    };
    makeIgnored('a');
    writeFiles(path.join(dataDir, '.tmp'), 1);

    const harness = await start(dataDir, 200, 200);
    makeIgnored('b');
    writeFiles(path.join(dataDir, 'ok'), 1);
    await waitFor(() => harness.calls.length > 0, 5000, 'trigger of ok');
    await sleep(1000);

    assert.deepEqual(
      harness.calls.map((call) => call.name),
      ['ok'],
    );
  });

  test('failed trigger is retried at rescan', async () => {
    let failures = 0;
    const harness = await start(makeTempDir(), 200, 300, async () => {
      if (failures === 0) {
        failures += 1;
        throw new Error('Temporal unavailable');
      }
    });
    writeFiles(path.join(harness.dataDir, 'L300'), 3);

    await waitFor(() => harness.calls.length >= 2, 5000, 'retry');
    await sleep(1000);

    assert.equal(harness.calls.length, 2);
    assert.equal(harness.calls[1]?.name, 'L300');
    assert.equal(harness.calls[1]?.reason, 'rescan');
    const errors = harness.lines.filter((line) => line.level === 'error');
    assert.equal(errors.length, 1);
    assert.equal((errors[0]?.obj as { folder?: string }).folder, 'L300');
  });

  test('folder delivered again triggers again', async () => {
    const harness = await start(makeTempDir(), 5000, 300);
    const deliver = async () => {
      const tmpDir = path.join(harness.dataDir, 'L400.tmp');
      writeFiles(tmpDir, 2);
      await waitForInProgress(harness, 'L400.tmp');
      fs.renameSync(tmpDir, path.join(harness.dataDir, 'L400'));
    };

    await deliver();
    await waitFor(() => harness.calls.length === 1, 4000, 'first trigger');
    harness.lines.length = 0;
    fs.rmSync(path.join(harness.dataDir, 'L400'), { recursive: true });
    const forgotten = () => hasLogLine(harness, 'folder gone, so its state is dropped', 'L400');
    await waitFor(forgotten, 3000, 'removal noticed');
    await deliver();
    await waitFor(() => harness.calls.length === 2, 4000, 'second trigger');
    await sleep(500);

    assert.equal(harness.calls.length, 2);
    assert.equal(harness.calls[1]?.name, 'L400');
    assert.equal(harness.calls[1]?.reason, 'renamed');
  });

  test('folder moved in from outside triggers', async () => {
    const parent = makeTempDir();
    const dataDir = path.join(parent, 'data');
    fs.mkdirSync(dataDir);
    writeFiles(path.join(parent, 'staging', 'L500'), 4);

    const harness = await start(dataDir, 300, 300);
    fs.renameSync(path.join(parent, 'staging', 'L500'), path.join(dataDir, 'L500'));
    await waitFor(() => harness.calls.length > 0, 5000, 'trigger');
    await sleep(700);

    assert.equal(harness.calls.length, 1);
    assert.equal(harness.calls[0]?.name, 'L500');
    assert.match(harness.calls[0]?.reason ?? '', /^(settled|rescan)$/);
  });

  test('missing data folder rejects ready', async () => {
    const dataDir = path.join(makeTempDir(), 'missing');
    const watcher = startWatcher({
      dataDir,
      settleMs: 100,
      rescanMs: 100,
      log: makeLog([]),
      trigger: async () => {},
    });
    cleanups.push(() => watcher.close());

    await assert.rejects(watcher.ready, /failed to read data folder .*missing/);
  });

  test('close before ready ends start', async () => {
    const dataDir = makeTempDir();
    writeFiles(path.join(dataDir, 'L600'), 1);
    const calls: string[] = [];
    const watcher = startWatcher({
      dataDir,
      settleMs: 100,
      rescanMs: 100,
      log: makeLog([]),
      trigger: async (name) => {
        calls.push(name);
      },
    });

    await watcher.close();
    await watcher.ready;
    await sleep(400);

    assert.equal(calls.length, 0);
  });
});
