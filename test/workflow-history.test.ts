import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { count, eq } from 'drizzle-orm';
import { deidImages, deliveries, deliveryFiles, images } from '../src/db/schema';
import { MAX_FILE_BYTES } from '../src/importer/read-file';
import { BATCH_NAME, BATCH_STATUS, IMAGE_COUNT } from '../src/temporal/search-attributes';
import { workflowBundle } from '../src/temporal/worker';
import { importWorkflowId } from '../src/temporal/workflow-ids';
import { runPoolUntil } from '../workflows/pool';
import type {
  DeidentifyPageInput,
  ImportBatchInput,
  ImportBatchResult,
  ImportProgress,
} from '../workflows/types';
import { type TestDatabase, createTestDatabase } from './helpers/db';
import { CORPUS, copyCorpusFolder, createTestDirs } from './helpers/fixtures';
import { batchRow, testWorker } from './helpers/pipeline';
import { createTestEnv } from './helpers/temporal';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

interface Run {
  runId: string;
  history: History;
  events: HistoryEvent[];
}

const FILES = 30;
const CHUNK = 2;
const CONCURRENCY = 2;
const THRESHOLD = 50;
/** Events a run may add past the threshold: the chunks still running when it is reached. */
const DRAIN_MARGIN = CONCURRENCY * 6 + 6;
/** Events the last import run adds after its last check: close, child, finish and clean up. */
const TAIL_MARGIN = 50;

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

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Follows a workflow's runs from its first through each continued-as-new event. */
async function runsOf(workflowId: string, firstRunId: string): Promise<Run[]> {
  const runs: Run[] = [];
  for (let runId: string | undefined = firstRunId; runId; ) {
    const history: History = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events: HistoryEvent[] = history.events ?? [];
    runs.push({ runId, history, events });
    const last: HistoryEvent | undefined = events[events.length - 1];
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}

function decodePayload<T>(data: Uint8Array | null | undefined): T {
  return JSON.parse(Buffer.from(data ?? new Uint8Array()).toString('utf8')) as T;
}

function startInput<T>(run: Run): T {
  const started = run.events[0]?.workflowExecutionStartedEventAttributes;
  return decodePayload<T>(started?.input?.payloads?.[0]?.data);
}

/** Inputs of the activities of one type that the runs scheduled, in order. */
function activityInputs<T>(runs: Run[], type: string): T[] {
  return runs.flatMap((run) =>
    run.events
      .map((event) => event.activityTaskScheduledEventAttributes)
      .filter((scheduled) => scheduled?.activityType?.name === type)
      .map((scheduled) => decodePayload<T>(scheduled?.input?.payloads?.[0]?.data)),
  );
}

function summariesOf(runs: Run[]): string[] {
  return runs.flatMap((run) =>
    run.events
      .filter((event) => event.activityTaskScheduledEventAttributes)
      .map((event) => decodePayload<string>(event.userMetadata?.summary?.data)),
  );
}

/** Replaces a file by a sparse one over the importer's size limit, so every read of it fails. */
function makeUnreadable(file: string): Buffer {
  const original = fs.readFileSync(file);
  fs.rmSync(file);
  fs.writeFileSync(file, '');
  fs.truncateSync(file, MAX_FILE_BYTES + 1);
  return original;
}

describe('runPoolUntil', () => {
  test('stops starting, drains running items', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    let stop = false;
    const startedCount = await runPoolUntil([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      await sleep(5);
      if (item === 2) stop = true;
      finished.push(item);
    }, () => stop);
    assert.ok(startedCount >= 3, `started ${startedCount}, stop came after item 2 started`);
    assert.ok(startedCount < 6, `started ${startedCount}, but stop came before the last item`);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5].slice(0, startedCount), 'the first items, in order');
    assert.deepEqual([...finished].sort(), [...started].sort(), 'every started item finished');
  });

  test('always starts the first item', async () => {
    const started: number[] = [];
    const startedCount = await runPoolUntil([7, 8], 4, async (item) => {
      started.push(item);
    }, () => true);
    assert.equal(startedCount, 1);
    assert.deepEqual(started, [7]);
  });

  test('empty list starts nothing', async () => {
    assert.equal(await runPoolUntil([], 2, async () => undefined, () => false), 0);
  });
});

/** Reads a history that `Worker.runReplayHistory` accepts from a proto JSON fixture. */
function historyFixture(name: string): History {
  const json = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/history', name), 'utf8')) as object;
  return temporal.api.history.v1.History.fromObject(json);
}

// Histories recorded with the workflow code before continue-as-new and keyed pages (commit
// 36734b0): an import of 7 files in chunks of 3 whose one unreadable file was retried on a
// `decide` signal, and its deidentify child. Such executions may still run when a worker with
// the current code starts, and must replay unchanged.
describe('replay of earlier executions', () => {
  test('import before bounded history', async () => {
    const history = historyFixture('import-before-bounded-history.json');
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'import:OLD');
  });

  test('deidentify before keyed pages', async () => {
    const history = historyFixture('deidentify-before-keyed-pages.json');
    const workflowId = 'import:OLD/deidentify/1';
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId);
  });
});

describe('bounded history', () => {
  test('import continues as new and retries', { timeout: 300_000 }, async () => {
    const dirs = createTestDirs({ FILE_MAX_ATTEMPTS: '1' });
    try {
      const db = database.handle.db;
      const batchName = `hist-${randomBytes(4).toString('hex')}`;
      const folder = path.join(dirs.config.dataDir, batchName);
      const names = fs.readdirSync(path.join(CORPUS, 'studies/TINY_ALPHA')).sort().slice(0, FILES);
      assert.equal(names.length, FILES);
      fs.mkdirSync(folder);
      for (const name of names) {
        fs.copyFileSync(path.join(CORPUS, 'studies/TINY_ALPHA', name), path.join(folder, name));
      }
      // Every second file (one per chunk of 2) fails, so the retry has a chunk per chunk too.
      const unreadable = names.filter((_, index) => index % 2 === 1);
      const originals = new Map(unreadable.map((name) => [name, makeUnreadable(path.join(folder, name))]));

      const { worker, config } = await testWorker(env, dirs.config, db);
      const workflowId = importWorkflowId(batchName);
      const input: ImportBatchInput = {
        batchName,
        folderPath: folder,
        chunkSize: CHUNK,
        concurrency: CONCURRENCY,
        deidentifyChunkSize: CHUNK,
        historyThreshold: THRESHOLD,
      };
      const first = await env.client.workflow.start('importBatchWorkflow', {
        taskQueue: config.taskQueue,
        workflowId,
        args: [input],
        typedSearchAttributes: [
          { key: BATCH_NAME, value: batchName },
          { key: BATCH_STATUS, value: 'PROCESSING' },
        ],
        staticSummary: `Import of batch ${batchName}`,
      });
      const firstRunId = first.firstExecutionRunId;
      const latest = env.client.workflow.getHandle(workflowId);

      const { result, waiting, runsWhenWaiting, finalProgress } = await worker.runUntil(async () => {
        const waitingProgress = await waitFor('waiting for a decision', async () => {
          const progress = await latest.query<ImportProgress>('progress').catch(() => undefined);
          return progress?.phase === 'waiting' ? progress : undefined;
        });
        const described = await latest.describe();
        assert.equal(described.typedSearchAttributes.get(BATCH_STATUS), 'WAITING');
        assert.equal(described.typedSearchAttributes.get(BATCH_NAME), batchName);
        const waitingRuns = (await runsOf(workflowId, firstRunId)).length;

        for (const [name, bytes] of originals) {
          fs.rmSync(path.join(folder, name));
          fs.writeFileSync(path.join(folder, name), bytes);
        }
        await latest.signal('decide', { action: 'retry' });
        const done = (await latest.result()) as ImportBatchResult;
        // A worker returns the query result of a closed run by replaying its history.
        const last = await latest.query<ImportProgress>('progress');
        return { result: done, waiting: waitingProgress, runsWhenWaiting: waitingRuns, finalProgress: last };
      });

      // Counters carried across runs add up while the import waits.
      assert.equal(waiting.fileCount, FILES);
      assert.equal(waiting.filesDone, FILES);
      assert.equal(waiting.imported, FILES - unreadable.length);
      assert.equal(waiting.failed, unreadable.length);
      assert.deepEqual(
        waiting.failedFiles.map((file) => file.relativePath),
        unreadable,
        'failed files named in the progress query',
      );
      assert.ok(runsWhenWaiting > 1, `import continued as new before waiting (${runsWhenWaiting} runs)`);

      assert.equal(result.status, 'DONE');
      assert.equal(result.figures.imageCount, FILES);
      assert.equal(result.figures.failedCount, 0);
      assert.equal(result.source.action, 'removed');
      assert.equal((result.deidentify?.released ?? 0) + (result.deidentify?.held ?? 0), FILES);

      assert.equal(finalProgress.phase, 'done');
      assert.equal(finalProgress.filesDone, FILES);
      assert.equal(finalProgress.imported, FILES);
      const done = await latest.describe();
      assert.equal(done.typedSearchAttributes.get(BATCH_STATUS), 'DONE');
      assert.equal(done.typedSearchAttributes.get(IMAGE_COUNT), FILES);

      // Every file imported once, in one delivery.
      const row = await batchRow(db, batchName);
      assert.equal(row?.deliveryCount, 1);
      const batchId = row?.id ?? -1;
      const [imageCount] = await db.select({ n: count() }).from(images).where(eq(images.batchId, batchId));
      assert.equal(imageCount?.n, FILES);
      const files = await db
        .select({ status: deliveryFiles.status })
        .from(deliveryFiles)
        .innerJoin(deliveries, eq(deliveries.id, deliveryFiles.deliveryId))
        .where(eq(deliveries.batchId, batchId));
      assert.equal(files.length, FILES);
      assert.deepEqual([...new Set(files.map((file) => file.status))], ['imported']);

      // Several runs of one workflow id, each with a bounded history.
      const runs = await runsOf(workflowId, firstRunId);
      assert.ok(runs.length > runsWhenWaiting, `the retry continued as new too (${runs.length} runs)`);
      const lengths = runs.map((run) => run.events.length);
      for (const [index, run] of runs.entries()) {
        const margin = index === runs.length - 1 ? TAIL_MARGIN : DRAIN_MARGIN;
        const events = run.events.length;
        assert.ok(events <= THRESHOLD + margin, `run ${index + 1} of ${lengths.join(', ')} events`);
        const started = run.events[0]?.workflowExecutionStartedEventAttributes;
        assert.equal(started?.firstExecutionRunId, firstRunId, `run ${index + 1} keeps firstExecutionRunId`);
      }
      const resumes = runs.slice(1).map((run) => startInput<ImportBatchInput>(run).resume);
      assert.ok(resumes.every((resume) => resume !== undefined), 'each continued run has a resume state');
      assert.deepEqual(
        [...new Set(resumes.map((resume) => resume?.progress.phase))],
        ['importing'],
        'runs continue as new only while importing',
      );
      assert.ok(
        resumes.some((resume) => resume?.retryFrom !== undefined),
        'a run continued during the retry of failed files',
      );
      for (const run of runs) {
        await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, run.history, workflowId);
      }

      // Each chunk imported once across the runs, then each failed file's chunk retried once.
      const summaries = summariesOf(runs);
      const imports = summaries.filter((summary) => summary.startsWith('Import files'));
      const expected = Array.from(
        { length: FILES / CHUNK },
        (_, i) => `Import files ${i * CHUNK + 1}–${i * CHUNK + CHUNK} of ${FILES}`,
      );
      assert.deepEqual(imports, expected);
      const retries = summaries.filter((summary) => summary.startsWith('Retry failed file'));
      assert.equal(retries.length, unreadable.length);
      assert.equal(retries[0], `Retry failed file ${unreadable[0]} (files 1–2)`);
      assert.equal(new Set(retries).size, retries.length, 'no chunk retried twice');

      // The deidentify child also ran in several runs, with pages that cover every image once.
      const [delivery] = await db.select().from(deliveries).where(eq(deliveries.batchId, batchId));
      const childId = `${workflowId}/deidentify/${delivery?.id}`;
      const childDescription = await env.client.workflow.getHandle(childId).describe();
      const childFirst = childDescription.raw.workflowExecutionInfo?.firstRunId;
      assert.ok(childFirst, 'deidentify child found');
      const childRuns = await runsOf(childId, childFirst);
      assert.ok(childRuns.length > 1, `deidentify continued as new (${childRuns.length} runs)`);
      for (const [index, run] of childRuns.entries()) {
        const events = run.events.length;
        assert.ok(events <= THRESHOLD + DRAIN_MARGIN + 10, `child run ${index + 1}: ${events} events`);
        await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, run.history, childId);
      }
      const childInput = startInput<{ concurrency?: number; chunkSize?: number }>(childRuns[0] as Run);
      assert.equal(childInput.concurrency, CONCURRENCY, 'import concurrency passed to the child');
      assert.equal(childInput.chunkSize, CHUNK);

      const pages = activityInputs<DeidentifyPageInput>(childRuns, 'deidentifyImages');
      const imageIds = (await db.select({ id: images.id }).from(images).where(eq(images.batchId, batchId)))
        .map((image) => image.id)
        .sort((a, b) => a - b);
      let covered = 0;
      for (const [index, page] of pages.entries()) {
        const previous = pages[index - 1];
        const expectedAfter = previous ? previous.throughImageId : 0;
        assert.equal(page.afterImageId, expectedAfter, `page ${index + 1} follows the last`);
        const inPage = imageIds.filter((id) => id > page.afterImageId && id <= page.throughImageId);
        assert.ok(inPage.length >= 1, `page ${index + 1} has no image`);
        assert.ok(inPage.length <= CHUNK, `page ${index + 1} has ${inPage.length} images`);
        covered += inPage.length;
      }
      assert.equal(covered, FILES, 'pages cover every image once');
      const [deidCount] = await db
        .select({ n: count() })
        .from(deidImages)
        .where(eq(deidImages.batchId, batchId));
      assert.equal(deidCount?.n, FILES);
    } finally {
      dirs.cleanup();
    }
  });

  test('threshold of one still finishes', { timeout: 300_000 }, async () => {
    const dirs = createTestDirs();
    try {
      const db = database.handle.db;
      const batchName = `tiny-${randomBytes(4).toString('hex')}`;
      const folder = path.join(dirs.config.dataDir, batchName);
      copyCorpusFolder('studies/98892001', folder);
      const { worker, config } = await testWorker(env, dirs.config, db);
      const workflowId = importWorkflowId(batchName);
      const input: ImportBatchInput = {
        batchName,
        folderPath: folder,
        chunkSize: 2,
        deidentifyChunkSize: 3,
        historyThreshold: 1,
      };
      const result = await worker.runUntil(
        env.client.workflow.execute('importBatchWorkflow', {
          taskQueue: config.taskQueue,
          workflowId,
          args: [input],
        }) as Promise<ImportBatchResult>,
      );

      assert.equal(result.status, 'DONE');
      assert.equal(result.figures.imageCount, 7);
      assert.equal(result.deidentify?.released, 7);
      const firstRunId = (await env.client.workflow.getHandle(workflowId).describe()).raw.workflowExecutionInfo
        ?.firstRunId;
      assert.ok(firstRunId, 'import found');
      // Every run imports one of the 4 chunks and continues as new; the last run closes the batch.
      assert.equal((await runsOf(workflowId, firstRunId)).length, 5);
      const [delivery] = await db.select().from(deliveries).where(eq(deliveries.folderPath, folder));
      const childId = `${workflowId}/deidentify/${delivery?.id}`;
      const childFirst = (await env.client.workflow.getHandle(childId).describe()).raw.workflowExecutionInfo
        ?.firstRunId;
      assert.ok(childFirst, 'deidentify child found');
      // One page of 3 images per run: 3, 3 and 1.
      assert.equal((await runsOf(childId, childFirst)).length, 3);
    } finally {
      dirs.cleanup();
    }
  });
});
