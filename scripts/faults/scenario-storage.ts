import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { loadTemplate, writeVariants } from './corpus';
import { Harness } from './harness';
import { type ScenarioOptions, type ScenarioResult, Tally } from './result';
import { filesUnder, leftoverTempFiles, verifyBatch } from './verify';

function mount(args: string[]): void {
  execFileSync('mount', args, { stdio: 'pipe', timeout: 30_000 });
}

/** Waits until a pending activity of the workflow reports a failure matching `pattern`. */
async function failureOf(handle: WorkflowHandle, pattern: RegExp, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const description = await handle.describe();
    for (const activity of description.raw.pendingActivities ?? []) {
      const message = activity.lastFailure?.message ?? '';
      if (pattern.test(message)) return message;
    }
    await sleep(500);
  }
  return undefined;
}

/**
 * Puts media storage on a small tmpfs, first full (ENOSPC), then remounted read-only (EROFS). Each
 * time the import activity must fail with a reason that names the file and leave no partial or
 * temporary file, and once the storage is fixed its own retries must complete the batch, once.
 */
export async function storageScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const tally = new Tally('media storage full, then read-only');
  const mediaDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicom-import-faults-media-'));
  const files = Math.min(options.files, 60);
  const template = loadTemplate();
  // Room for about a third of the folder's copies.
  const sizeMb = Math.ceil((template.bytes.length * files) / 3 / 1024 ** 2);
  mount(['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', mediaDir]);
  let h: Harness | undefined;
  try {
    h = await Harness.create('storage', { MEDIA_DIR: mediaDir });
    await h.worker.start();
    const cases = [
      { batch: 'FULL', pattern: /ENOSPC/, fix: `remount,size=${sizeMb * 10}m` },
      { batch: 'READONLY', pattern: /EROFS/, fault: 'remount,ro', fix: 'remount,rw' },
    ];
    for (const [index, fault] of cases.entries()) {
      const uids = writeVariants(template, path.join(h.dataDir, fault.batch), index * 1000, files);
      if (fault.fault) mount(['-o', fault.fault, mediaDir]);
      const handle = await h.startImport(fault.batch);
      const reason = await failureOf(handle, fault.pattern, 120_000);
      tally.check(reason !== undefined, `${fault.batch}: no activity failure matching ${fault.pattern}`);
      tally.check(/\.dcm: media storage write failed/.test(reason ?? ''), `${fault.batch}: reason names no file`);
      if (reason) tally.notes.push(`${fault.batch}: "${reason.slice(0, 70)}..."`);

      const temps = leftoverTempFiles(mediaDir);
      tally.check(temps.length === 0, `${fault.batch}: ${temps.length} temporary files while failing`);
      const partial = filesUnder(mediaDir)
        .filter((file) => file.endsWith('.dcm'))
        .filter((file) => fs.statSync(path.join(mediaDir, file)).size !== template.bytes.length);
      tally.check(partial.length === 0, `${fault.batch}: ${partial.length} partly written copies`);

      mount(['-o', fault.fix, mediaDir]);
      const closed = await h.waitForClose(handle, 10 * 60_000);
      tally.add(await verifyBatch(h, { batchName: fault.batch, uids, closed }), fault.batch);
    }
    return tally.result([h]);
  } finally {
    await h?.close();
    execFileSync('umount', [mediaDir], { stdio: 'pipe' });
    fs.rmdirSync(mediaDir);
  }
}
