import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { generateFolder } from '../scripts/bench/generate';
import { loadConfig } from '../src/config';
import { batches, conflicts, deidImages, deliveries, deliveryFiles, images } from '../src/db/schema';
import { startImport } from '../src/temporal/client';
import type { ImportBatchResult } from '../workflows/types';
import { spawnCli } from './helpers/cli';
import { type TestDatabase, createTestDatabase } from './helpers/db';
import { CORPUS, listFiles } from './helpers/fixtures';
import { createTestEnv } from './helpers/temporal';

/** Real-size files: every copy is the 530,632-byte uncompressed 512 x 512 CT image. */
const TEMPLATE = path.join(CORPUS, 'ct/CT1_UNC.explicit_little_endian.dcm');
const FILES = 5000;
const SERIES = 10;
const STUDIES = 2;
const BATCH = 'SCALE5000';
const TASK_QUEUE = 'scale-out';

/** Generous bounds that only keep a hung run from blocking the suite. No assertion is on time. */
const WORKER_START_MS = 180_000;
const TEST_TIMEOUT_MS = 30 * 60_000;

type Worker = ReturnType<typeof spawnCli>;

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Sums the sizes of the files under `dir`, in bytes. */
function treeBytes(dir: string): number {
  return listFiles(dir).reduce((sum, relative) => sum + fs.statSync(path.join(dir, relative)).size, 0);
}

async function waitForLine(worker: Worker, name: string, text: string): Promise<void> {
  const deadline = Date.now() + WORKER_START_MS;
  while (!worker.output.stderr.includes(text)) {
    if (worker.child.exitCode !== null) {
      throw new Error(`${name} exited with code ${worker.child.exitCode}:\n${worker.output.stderr.slice(-3000)}`);
    }
    if (Date.now() > deadline) {
      const tail = worker.output.stderr.slice(-3000);
      throw new Error(`${name} timed out after ${WORKER_START_MS} ms waiting for "${text}":\n${tail}`);
    }
    await sleep(200);
  }
}

/** Stops one worker this test started, by its pid: SIGTERM, then SIGKILL if it is still there. */
async function stopWorker(worker: Worker): Promise<void> {
  const { child } = worker;
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  process.kill(child.pid, 'SIGTERM');
  const timedOut = await Promise.race([worker.exited.then(() => false), sleep(30_000, true)]);
  if (timedOut && child.exitCode === null && child.signalCode === null) {
    process.kill(child.pid, 'SIGKILL');
    await worker.exited;
  }
}

describe('two worker processes on one task queue', () => {
  let root: string;
  let temporal: TestWorkflowEnvironment;
  let database: TestDatabase;
  const workers: Worker[] = [];
  let folder: string;
  let workerEnv: Record<string, string>;
  let sourceHashes: Map<string, string>;
  let sourceBytes = 0;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dicom-import-scale-'));
    temporal = await createTestEnv();
    database = await createTestDatabase('postgres');
    assert.ok(database.url, 'a Postgres test database has a URL');
    workerEnv = {
      DATA_DIR: path.join(root, 'data'),
      MEDIA_DIR: path.join(root, 'media'),
      DEID_DIR: path.join(root, 'deid'),
      STATE_DIR: path.join(root, 'state'),
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace ?? 'default',
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      DEID_SECRET: 'scale-out-test-secret',
      LOG_LEVEL: 'info',
    };
    for (const key of ['DATA_DIR', 'MEDIA_DIR', 'DEID_DIR', 'STATE_DIR']) {
      fs.mkdirSync(workerEnv[key] as string, { recursive: true });
    }

    // The two workers start (bundling the workflow code) while the files are written.
    for (let n = 0; n < 2; n += 1) workers.push(spawnCli(['worker'], workerEnv));
    folder = path.join(workerEnv.DATA_DIR as string, BATCH);
    const generating = generateFolder({
      files: FILES,
      series: SERIES,
      studies: STUDIES,
      folder,
      template: TEMPLATE,
    });
    await Promise.all([
      generating,
      ...workers.map((worker, n) => waitForLine(worker, `worker ${n + 1}`, '"msg":"worker started"')),
    ]);

    sourceHashes = new Map();
    for (const relative of listFiles(folder)) {
      const file = path.join(folder, relative);
      sourceHashes.set(relative, sha256(file));
      sourceBytes += fs.statSync(file).size;
    }
    assert.equal(sourceHashes.size, FILES, 'generated file count');
  });

  after(async () => {
    for (const worker of workers) await stopWorker(worker);
    await temporal?.teardown();
    await database?.dispose();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test(`${FILES} files stored once each`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const config = loadConfig(workerEnv);
    const started = performance.now();
    const run = await startImport(temporal.client, config, BATCH, folder);
    assert.equal(run.started, true, 'a new import workflow started');
    const handle = temporal.client.workflow.getHandle(run.workflowId);
    const result = (await handle.result()) as ImportBatchResult;
    const importSeconds = (performance.now() - started) / 1000;

    assert.equal(result.status, 'DONE', JSON.stringify(result));
    assert.deepEqual(result.deidentify, { released: FILES, held: 0, failed: 0 });
    assert.equal(result.source.action, 'removed');

    const { db } = database.handle;
    const [batch] = await db.select().from(batches).where(eq(batches.name, BATCH));
    assert.ok(batch, `batch ${BATCH} exists`);
    assert.equal(batch.status, 'DONE');
    assert.equal(batch.imageCount, FILES);
    assert.equal(batch.duplicateCount, 0);
    assert.equal(batch.conflictCount, 0);
    assert.equal(batch.failedCount, 0);
    assert.equal(batch.skippedCount, 0);
    assert.equal(batch.seriesCount, SERIES);
    assert.equal(batch.studyCount, STUDIES);

    // Images: one row per file, with distinct SOPInstanceUIDs. The database is this test's alone.
    const imageRows = await db.select().from(images);
    assert.equal(imageRows.length, FILES, 'images rows');
    assert.equal(new Set(imageRows.map((row) => row.SOPInstanceUID)).size, FILES, 'distinct SOPInstanceUIDs');
    assert.ok(imageRows.every((row) => row.batchId === batch.id), 'every image belongs to the batch');
    assert.deepEqual(await db.select().from(conflicts), [], 'no conflicts rows');

    // Delivery files: one delivery, every file imported into its own image.
    const deliveryRows = await db.select().from(deliveries).where(eq(deliveries.batchId, batch.id));
    assert.equal(deliveryRows.length, 1, 'one delivery');
    const fileRows = await db.select().from(deliveryFiles);
    assert.equal(fileRows.length, FILES, 'delivery_files rows');
    const notImported = fileRows.filter((row) => row.status !== 'imported');
    assert.deepEqual(notImported.map((row) => `${row.relativePath}: ${row.status}`), []);
    const imageOf = new Map(imageRows.map((row) => [row.id, row]));
    assert.equal(new Set(fileRows.map((row) => row.imageId)).size, FILES, 'each file has its own image');

    // Media: exactly one stored file per image, byte for byte the source file.
    const mediaFiles = listFiles(workerEnv.MEDIA_DIR as string);
    assert.equal(mediaFiles.length, FILES, 'media files');
    assert.deepEqual(mediaFiles, imageRows.map((row) => row.mediaPath).sort(), 'media files are the image rows');
    const copyDiffers: string[] = [];
    const rowHashDiffers: string[] = [];
    for (const row of fileRows) {
      const image = row.imageId === null ? undefined : imageOf.get(row.imageId);
      assert.ok(image, `${row.relativePath}: image ${row.imageId} exists`);
      assert.equal(image.sourcePath, row.relativePath);
      const source = sourceHashes.get(row.relativePath);
      const stored = sha256(path.join(workerEnv.MEDIA_DIR as string, image.mediaPath));
      if (stored !== source) copyDiffers.push(row.relativePath);
      if (image.sha256 !== source) rowHashDiffers.push(row.relativePath);
    }
    assert.deepEqual(copyDiffers, [], 'media copies whose SHA-256 differs from the source file');
    assert.deepEqual(rowHashDiffers, [], 'images rows whose sha256 differs from the source file');
    assert.equal(fs.existsSync(folder), false, 'source folder removed');

    // De-identified copies: one released copy per image, and nothing else in the folder.
    const deidRows = await db.select().from(deidImages);
    assert.equal(deidRows.length, FILES, 'deid_images rows');
    assert.ok(deidRows.every((row) => row.status === 'released'), 'every copy released');
    assert.equal(new Set(deidRows.map((row) => row.imageId)).size, FILES, 'one copy per image');
    const deidFiles = listFiles(workerEnv.DEID_DIR as string);
    assert.equal(deidFiles.length, FILES, 'de-identified files');
    assert.deepEqual(deidFiles, deidRows.map((row) => row.path ?? '').sort());

    // Both worker processes ran importFiles tasks. The SDK's default identity is `<pid>@<hostname>`.
    const byIdentity = await activityIdentities(handle, 'importFiles');
    const expected = workers.map((worker) => `${worker.child.pid}@${os.hostname()}`);
    const importTasks = [...byIdentity.values()].reduce((sum, count) => sum + count, 0);
    assert.equal(importTasks, Math.ceil(FILES / config.importChunkSize), 'importFiles tasks started');
    assert.deepEqual([...byIdentity.keys()].sort(), [...expected].sort(), 'identities of importFiles tasks');
    for (const identity of expected) {
      assert.ok((byIdentity.get(identity) ?? 0) >= 1, `${identity} ran an importFiles task`);
    }

    const child = temporal.client.workflow.getHandle(`${run.workflowId}/deidentify/${deliveryRows[0]?.id}`);
    const deidByIdentity = await activityIdentities(child, 'deidentifyImages');
    const mediaBytes = treeBytes(workerEnv.MEDIA_DIR as string);
    const deidBytes = treeBytes(workerEnv.DEID_DIR as string);
    t.diagnostic(`import of ${FILES} files to DONE: ${importSeconds.toFixed(1)} s`);
    t.diagnostic(`importFiles tasks by worker: ${JSON.stringify(Object.fromEntries(byIdentity))}`);
    t.diagnostic(`deidentifyImages tasks by worker: ${JSON.stringify(Object.fromEntries(deidByIdentity))}`);
    t.diagnostic(
      `bytes: sources ${sourceBytes}, media ${mediaBytes}, de-identified ${deidBytes}, ` +
        `together ${sourceBytes + mediaBytes + deidBytes}`,
    );
  });
});

/** Counts the started tasks of one activity type in a workflow's history, by worker identity. */
async function activityIdentities(
  handle: ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>,
  activityType: string,
): Promise<Map<string, number>> {
  const history = await handle.fetchHistory();
  const scheduledIds = new Set<string>();
  const counts = new Map<string, number>();
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === activityType) scheduledIds.add(String(event.eventId));
    const started = event.activityTaskStartedEventAttributes;
    if (started && scheduledIds.has(String(started.scheduledEventId))) {
      const identity = started.identity ?? '';
      counts.set(identity, (counts.get(identity) ?? 0) + 1);
    }
  }
  return counts;
}
