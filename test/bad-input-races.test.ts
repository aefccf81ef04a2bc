import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { and, eq } from 'drizzle-orm';
import { type Activities, createActivities } from '../activities';
import { batchMessages, deliveryFiles, images } from '../src/db/schema';
import { loadTemplate, writeVariants } from '../scripts/faults/corpus';
import { type TestDatabase, createTestDatabase } from './helpers/db';
import { CORPUS, createTestDirs, listFiles } from './helpers/fixtures';

const TEMPLATE = loadTemplate(path.join(CORPUS, 'studies/TINY_ALPHA/IM000000'));
const mock = new MockActivityEnvironment();
let database: TestDatabase;
let nextUid = 0;

/** MockActivityEnvironment.run with the activity's own argument and result types. */
function run<A extends unknown[], R>(activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return mock.run(activity as never, ...(args as unknown as never[])) as Promise<R>;
}

before(async () => {
  database = await createTestDatabase('pglite');
});

after(async () => {
  await database?.dispose();
});

/** Creates a batch folder of `count` small images and a worker's activities over fresh folders. */
function setup(name: string, count: number) {
  const dirs = createTestDirs();
  const folder = path.join(dirs.config.dataDir, name);
  const uids = writeVariants(TEMPLATE, folder, nextUid, count);
  nextUid += count;
  const activities = createActivities({ db: database.handle.db, config: dirs.config });
  return { dirs, folder, uids, activities };
}

async function begin(activities: Activities, name: string, folder: string) {
  const key = `${name}/${randomBytes(4).toString('hex')}`;
  const ref = await run(activities.beginDelivery, {
    batchName: name,
    folderPath: folder,
    deliveryKey: key,
    workflowId: `import:${name}`,
  });
  await run(activities.listFiles, { ...ref, folderPath: folder });
  return ref;
}

type Ref = { batchId: number; deliveryId: number };

/** Runs one import chunk; returns its result, or the error it failed with. */
async function importChunk(activities: Activities, ref: Ref, folder: string, from = 0, to = 1000) {
  try {
    return await run(activities.importFiles, { ...ref, folderPath: folder, fromOrdinal: from, toOrdinal: to });
  } catch (error) {
    return error as Error;
  }
}

async function fileRow(ref: Ref, relativePath: string) {
  const [row] = await database.handle.db
    .select()
    .from(deliveryFiles)
    .where(and(eq(deliveryFiles.deliveryId, ref.deliveryId), eq(deliveryFiles.relativePath, relativePath)));
  return row;
}

async function messageFor(ref: Ref, relativePath: string) {
  const rows = await database.handle.db.select().from(batchMessages).where(eq(batchMessages.deliveryId, ref.deliveryId));
  return rows.find((row) => row.path === relativePath);
}

test('file completed after listing imports whole', async () => {
  const { dirs, folder, activities } = setup('GROWN', 1);
  try {
    const file = path.join(folder, 'IM' + String(nextUid - 1).padStart(6, '0') + '.dcm');
    const whole = fs.readFileSync(file);
    fs.writeFileSync(file, whole.subarray(0, 300));
    const ref = await begin(activities, 'GROWN', folder);
    fs.writeFileSync(file, whole);

    const first = await importChunk(activities, ref, folder);
    const second = await importChunk(activities, ref, folder);

    assert.ok(first instanceof Error, 'first attempt fails on the changed size');
    assert.match(first.message, /could not be read and will be retried/);
    assert.equal((second as { imported: number }).imported, 1);
    const row = await fileRow(ref, path.basename(file));
    assert.equal(row?.status, 'imported');
    assert.equal(row?.size, whole.length);
  } finally {
    dirs.cleanup();
  }
});

test('file still growing fails and stays', async () => {
  const { dirs, folder, activities } = setup('GROWING', 2);
  try {
    const name = 'IM' + String(nextUid - 1).padStart(6, '0') + '.dcm';
    const ref = await begin(activities, 'GROWING', folder);
    for (let attempt = 0; attempt < dirs.config.fileMaxAttempts; attempt += 1) {
      fs.appendFileSync(path.join(folder, name), Buffer.alloc(10));
      await importChunk(activities, ref, folder);
    }

    const row = await fileRow(ref, name);
    assert.equal(row?.status, 'failed');
    const message = await messageFor(ref, name);
    assert.equal(message?.level, 'error');
    assert.match(message?.message ?? '', /still being written/);
    const figures = await run(activities.closeBatch, ref);
    assert.equal(figures.failedCount, 1);
    const source = await run(activities.finalizeSource, { ...ref, folderPath: folder });
    assert.equal(source.action, 'renamed');
    assert.deepEqual(listFiles(`${folder}.err`), [name]);
  } finally {
    dirs.cleanup();
  }
});

test('file vanished after listing reported', async () => {
  const { dirs, folder, activities } = setup('VANISHED', 2);
  try {
    const name = 'IM' + String(nextUid - 1).padStart(6, '0') + '.dcm';
    const ref = await begin(activities, 'VANISHED', folder);
    fs.unlinkSync(path.join(folder, name));
    for (let attempt = 0; attempt < dirs.config.fileMaxAttempts; attempt += 1) {
      await importChunk(activities, ref, folder);
    }

    assert.equal((await fileRow(ref, name))?.status, 'failed');
    assert.match((await messageFor(ref, name))?.message ?? '', /vanished after the listing/);
    const figures = await run(activities.closeBatch, ref);
    assert.equal(figures.imageCount, 1);
    assert.equal(figures.failedCount, 1);
  } finally {
    dirs.cleanup();
  }
});

test('folder removed mid-import reported', async () => {
  const { dirs, folder, activities } = setup('REMOVED', 6);
  try {
    const ref = await begin(activities, 'REMOVED', folder);
    await importChunk(activities, ref, folder, 0, 3);
    fs.rmSync(folder, { recursive: true });
    for (let attempt = 0; attempt < dirs.config.fileMaxAttempts; attempt += 1) {
      await importChunk(activities, ref, folder, 3, 6);
    }

    const figures = await run(activities.closeBatch, ref);
    assert.equal(figures.imageCount, 3);
    assert.equal(figures.failedCount, 3);
    assert.equal(figures.errorCount, 3);
    const status = await run(activities.finishBatch, { ...ref });
    assert.equal(status, 'ERROR');
    const source = await run(activities.finalizeSource, { ...ref, folderPath: folder });
    assert.equal(source.action, 'missing');
  } finally {
    dirs.cleanup();
  }
});

test('folder renamed back to .tmp and redelivered', async () => {
  const { dirs, folder, uids, activities } = setup('BACK', 6);
  try {
    const first = await begin(activities, 'BACK', folder);
    await importChunk(activities, first, folder, 0, 3);
    fs.renameSync(folder, `${folder}.tmp`);
    for (let attempt = 0; attempt < dirs.config.fileMaxAttempts; attempt += 1) {
      await importChunk(activities, first, folder, 3, 6);
    }
    await run(activities.closeBatch, first);
    fs.renameSync(`${folder}.tmp`, folder);

    const second = await begin(activities, 'BACK', folder);
    const result = await importChunk(activities, second, folder);

    assert.deepEqual(result, { imported: 3, duplicates: 3, conflicts: 0, skipped: 0, failed: 0 });
    const stored = await database.handle.db.select().from(images).where(eq(images.batchId, first.batchId));
    assert.deepEqual(stored.map((image) => image.SOPInstanceUID).sort(), [...uids].sort());
    const copies = listFiles(dirs.config.mediaDir).filter((file) => file.endsWith('.dcm'));
    assert.equal(copies.length, 6);
  } finally {
    dirs.cleanup();
  }
});

test('FIFO swapped in after listing does not block', async () => {
  const { dirs, folder, activities } = setup('SWAPPED', 1);
  try {
    const name = 'IM' + String(nextUid - 1).padStart(6, '0') + '.dcm';
    const ref = await begin(activities, 'SWAPPED', folder);
    fs.unlinkSync(path.join(folder, name));
    execFileSync('mkfifo', [path.join(folder, name)]);

    const timeout = new Promise<'blocked'>((resolve) => setTimeout(resolve, 10_000, 'blocked').unref());
    const outcome = await Promise.race([importChunk(activities, ref, folder), timeout]);

    assert.notEqual(outcome, 'blocked');
    assert.match((await fileRow(ref, name))?.reason ?? '', /not a regular file/);
  } finally {
    dirs.cleanup();
  }
});
