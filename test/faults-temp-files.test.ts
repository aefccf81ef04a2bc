import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { sweepStaleTempFiles, tempFileName } from '../src/storage/temp-files';

const HOUR_MS = 3_600_000;

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

test('sweep removes only abandoned temporary files', async () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'dicom-import-sweep-'));
  try {
    const live = tempFileName();
    const dead = live.replace(`-${process.pid}-`, `-${deadPid()}-`);
    const otherHost = `.dicom-import-elsewhere-${deadPid()}-0123456789abcdef.tmp`;
    const oldAnonymous = '.dicom-import-0123456789abcdef.tmp';
    const youngAnonymous = '.dicom-import-fedcba9876543210.tmp';
    const final = 'image.dcm';
    for (const name of [live, dead, otherHost, oldAnonymous, youngAnonymous, final]) {
      fs.writeFileSync(path.join(folder, name), 'x');
    }
    const old = new Date(Date.now() - 2 * HOUR_MS);
    fs.utimesSync(path.join(folder, oldAnonymous), old, old);
    fs.utimesSync(path.join(folder, final), old, old);

    const removed = await sweepStaleTempFiles([folder], { maxAgeMs: HOUR_MS });

    assert.deepEqual(removed.map((file) => path.basename(file)).sort(), [dead, oldAnonymous].sort());
    assert.deepEqual(fs.readdirSync(folder).sort(), [live, otherHost, youngAnonymous, final].sort());
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
});

test('sweep skips a missing folder', async () => {
  const removed = await sweepStaleTempFiles([path.join(os.tmpdir(), 'no-such-folder-sweep')], {
    maxAgeMs: HOUR_MS,
  });
  assert.deepEqual(removed, []);
});
