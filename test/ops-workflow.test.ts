import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { count, eq } from 'drizzle-orm';
import type { Config } from '../src/config';
import { deliveries, deliveryFiles, images } from '../src/db/schema';
import { MAX_FILE_BYTES } from '../src/importer/read-file';
import { startImport } from '../src/temporal/client';
import { registerSearchAttributes } from '../src/temporal/register-search-attributes';
import { BATCH_STATUS, IMAGE_COUNT } from '../src/temporal/search-attributes';
import type { ImportBatchResult, ImportProgress } from '../workflows/types';
import { type TestDatabase, createTestDatabase } from './helpers/db';
import { copyCorpusFolder, createTestDirs, type TestDirs } from './helpers/fixtures';
import { batchRow, testWorker } from './helpers/pipeline';
import { createTestEnv } from './helpers/temporal';

const STUDY = 'studies/77654033';
const BAD_FILE = 'CT2/17136';

let env: TestWorkflowEnvironment;
let database: TestDatabase;

before(async () => {
  env = await createTestEnv();
  database = await createTestDatabase('pglite');
});

after(async () => {
  await database?.dispose();
  await env?.teardown();
});

/** Replaces a file by a sparse one over the importer's size limit, so every read of it fails. */
function makeUnreadable(file: string): Buffer {
  const original = fs.readFileSync(file);
  fs.rmSync(file);
  fs.writeFileSync(file, '');
  fs.truncateSync(file, MAX_FILE_BYTES + 1);
  return original;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function listedIds(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of env.client.workflow.list({ query })) ids.push(execution.workflowId);
  return ids;
}

function waitForStatus(handle: WorkflowHandle, status: string) {
  return waitFor(`status ${status}`, async () => {
    const description = await handle.describe();
    return description.typedSearchAttributes.get(BATCH_STATUS) === status ? description : undefined;
  });
}

async function activitySummaries(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .filter((event) => event.activityTaskScheduledEventAttributes)
    .map((event) => event.userMetadata?.summary?.data)
    .filter((data): data is Uint8Array => data instanceof Uint8Array)
    .map((data) => JSON.parse(Buffer.from(data).toString('utf8')) as string);
}

interface Scenario {
  dirs: TestDirs;
  worker: Worker;
  config: Config;
  batchName: string;
  folder: string;
  original: Buffer;
  handle: WorkflowHandle;
}

/** Starts an import of a study whose BAD_FILE cannot be read, with one read attempt per file. */
async function startFailingImport(): Promise<Scenario> {
  const dirs = createTestDirs({ FILE_MAX_ATTEMPTS: '1' });
  const batchName = `ops-${randomBytes(4).toString('hex')}`;
  const folder = path.join(dirs.config.dataDir, batchName);
  copyCorpusFolder(STUDY, folder);
  const original = makeUnreadable(path.join(folder, BAD_FILE));
  const { worker, config } = await testWorker(env, dirs.config, database.handle.db);
  const started = await startImport(env.client, config, batchName, folder);
  const handle = env.client.workflow.getHandle(started.workflowId);
  return { dirs, worker, config, batchName, folder, original, handle };
}

describe('search attributes', () => {
  test('registration idempotent', async () => {
    const first = await registerSearchAttributes(env.connection.operatorService, 'default');
    const again = await registerSearchAttributes(env.connection.operatorService, 'default');
    assert.equal(first.added.length + first.present.length, 4);
    assert.deepEqual(again.added, []);
    assert.equal(again.present.length, 4);
  });
});

describe('failed workflow', () => {
  test('missing folder sets ERROR', { timeout: 60_000 }, async () => {
    const dirs = createTestDirs();
    try {
      const { worker, config } = await testWorker(env, dirs.config, database.handle.db);
      const batchName = `gone-${randomBytes(4).toString('hex')}`;
      const started = await startImport(env.client, config, batchName, path.join(config.dataDir, batchName));
      const handle = env.client.workflow.getHandle(started.workflowId);
      await worker.runUntil(assert.rejects(handle.result(), { name: 'WorkflowFailedError' }));
      const description = await handle.describe();
      assert.equal(description.status.name, 'FAILED');
      assert.equal(description.typedSearchAttributes.get(BATCH_STATUS), 'ERROR');
    } finally {
      dirs.cleanup();
    }
  });
});

describe('failed image', () => {
  test('waits, then retry imports it', { timeout: 120_000 }, async () => {
    const scenario = await startFailingImport();
    const { worker, handle, batchName, folder } = scenario;
    try {
      await worker.runUntil(async () => {
        const waiting = await waitForStatus(handle, 'WAITING');
        assert.equal(await waiting.staticSummary(), `Import of batch ${batchName}`);

        const progress = await handle.query<ImportProgress>('progress');
        assert.equal(progress.phase, 'waiting');
        assert.equal(progress.failed, 1);
        assert.equal(progress.failedFiles[0]?.relativePath, BAD_FILE);
        assert.equal(progress.fileCount, 7);
        assert.equal(typeof progress.warningCount, 'number');

        const byName = await waitFor('listing by name', async () => {
          const ids = await listedIds(`DicomBatchName = "${batchName}"`);
          return ids.length > 0 ? ids : undefined;
        });
        assert.deepEqual(byName, [handle.workflowId]);
        const waitingIds = await listedIds(`DicomBatchStatus = "WAITING" AND DicomBatchName = "${batchName}"`);
        assert.deepEqual(waitingIds, [handle.workflowId]);

        fs.rmSync(path.join(folder, BAD_FILE));
        fs.writeFileSync(path.join(folder, BAD_FILE), scenario.original);
        await handle.signal('decide', { action: 'retry' });
        const result = (await handle.result()) as ImportBatchResult;

        assert.equal(result.status, 'DONE');
        assert.equal(result.figures.imageCount, 7);
        assert.equal(result.figures.failedCount, 0);
        assert.equal(result.source.action, 'removed');
        const finalProgress = await handle.query<ImportProgress>('progress');
        assert.equal(finalProgress.filesDone, 7);
        assert.equal(finalProgress.phase, 'done');
        const done = await handle.describe();
        assert.equal(done.typedSearchAttributes.get(BATCH_STATUS), 'DONE');
        assert.equal(done.typedSearchAttributes.get(IMAGE_COUNT), 7);
        const summaries = await activitySummaries(handle);
        assert.ok(summaries.includes('Import files 1–7 of 7'), summaries.join('; '));
        assert.ok(summaries.includes(`Retry failed file ${BAD_FILE} (files 1–7)`), summaries.join('; '));
      });
    } finally {
      scenario.dirs.cleanup();
    }
  });

  test('skip closes batch as ERROR', { timeout: 120_000 }, async () => {
    const scenario = await startFailingImport();
    const { worker, handle, batchName, folder } = scenario;
    try {
      await worker.runUntil(async () => {
        await waitForStatus(handle, 'WAITING');
        await handle.signal('decide', { action: 'bogus' });
        await handle.signal('decide', { action: 'skip' });
        const result = (await handle.result()) as ImportBatchResult;

        assert.equal(result.status, 'ERROR');
        assert.equal(result.figures.imageCount, 6);
        assert.equal(result.figures.failedCount, 1);
        assert.equal(result.source.action, 'renamed');
        assert.equal(fs.existsSync(`${folder}.err`), true, 'folder renamed .err');
        const errors = await waitFor('listing by status ERROR', async () => {
          const ids = await listedIds(`DicomBatchStatus = "ERROR" AND DicomBatchName = "${batchName}"`);
          return ids.length > 0 ? ids : undefined;
        });
        assert.deepEqual(errors, [handle.workflowId]);
        assert.equal((await batchRow(database.handle.db, batchName))?.status, 'ERROR');
      });
    } finally {
      scenario.dirs.cleanup();
    }
  });

  test('reset keeps one delivery', { timeout: 120_000 }, async () => {
    const scenario = await startFailingImport();
    const { worker, handle, batchName, folder } = scenario;
    const db = database.handle.db;
    try {
      await worker.runUntil(async () => {
        await waitForStatus(handle, 'WAITING');
        const history = await handle.fetchHistory();
        const events = history.events ?? [];
        const firstTask = events.find((event) => event.workflowTaskCompletedEventAttributes);
        const started = events[0]?.workflowExecutionStartedEventAttributes;
        const firstRunId = started?.firstExecutionRunId;
        const reset = await env.client.workflowService.resetWorkflowExecution({
          namespace: 'default',
          workflowExecution: { workflowId: handle.workflowId },
          workflowTaskFinishEventId: firstTask?.eventId,
          reason: 'test reset',
          requestId: randomBytes(8).toString('hex'),
        });
        const resetHandle = env.client.workflow.getHandle(handle.workflowId, reset.runId ?? undefined);
        const resetHistory = await resetHandle.fetchHistory();
        const resetStart = resetHistory.events?.[0]?.workflowExecutionStartedEventAttributes;
        assert.equal(resetStart?.firstExecutionRunId, firstRunId, 'reset keeps firstExecutionRunId');

        await waitFor('reset run waiting', async () => {
          const progress = await resetHandle.query<ImportProgress>('progress').catch(() => undefined);
          return progress?.phase === 'waiting' ? progress : undefined;
        });
        fs.rmSync(path.join(folder, BAD_FILE));
        fs.writeFileSync(path.join(folder, BAD_FILE), scenario.original);
        await resetHandle.signal('decide', { action: 'retry' });
        const result = (await resetHandle.result()) as ImportBatchResult;
        assert.equal(result.status, 'DONE');
        assert.equal(result.figures.imageCount, 7);

        const row = await batchRow(db, batchName);
        const batchId = row?.id ?? -1;
        const [deliveryCount] = await db
          .select({ n: count() })
          .from(deliveries)
          .where(eq(deliveries.batchId, batchId));
        assert.equal(deliveryCount?.n, 1);
        // Every test imports the same study, and SOPInstanceUIDs are unique across batches.
        const [imageCount] = await db.select({ n: count() }).from(images);
        assert.equal(imageCount?.n, 7);
        const [fileCount] = await db
          .select({ n: count() })
          .from(deliveryFiles)
          .innerJoin(deliveries, eq(deliveries.id, deliveryFiles.deliveryId))
          .where(eq(deliveries.batchId, batchId));
        assert.equal(fileCount?.n, 7);
        assert.equal(row?.deliveryCount, 1);
      });
    } finally {
      scenario.dirs.cleanup();
    }
  });
});
