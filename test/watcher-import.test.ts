import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { watchDataDir } from '../src/cli/watch';
import { startImport } from '../src/temporal/client';
import { importWorkflowId } from '../src/temporal/workflow-ids';
import { type TestDatabase, createTestDatabase } from './helpers/db';
import { CORPUS, copyCorpusFolder, createTestDirs } from './helpers/fixtures';
import { batchRow, testWorker } from './helpers/pipeline';
import { createTestEnv } from './helpers/temporal';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
const log = pino({ level: 'warn' });

before(async () => {
  env = await createTestEnv();
  database = await createTestDatabase('pglite');
});

after(async () => {
  await database?.dispose();
  await env?.teardown();
});

/** Run ids of every execution of a workflow id, from the workflow's own history chain. */
async function executionsOf(workflowId: string): Promise<string[]> {
  const runs: string[] = [];
  for await (const execution of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    runs.push(execution.runId);
  }
  return runs;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('renamed and settled folders imported once', async () => {
  const dirs = createTestDirs({ SETTLE_SECONDS: '1.5', RESCAN_SECONDS: '0.5' });
  try {
    const { worker, config } = await testWorker(env, dirs.config, database.handle.db);
    await worker.runUntil(async () => {
      const watcher = watchDataDir(config, env.client, log);
      await watcher.ready;
      try {
        // A delivery written under X.tmp and renamed when complete.
        const inProgress = path.join(config.dataDir, 'X.tmp');
        copyCorpusFolder('studies/77654033', inProgress);
        fs.renameSync(inProgress, path.join(config.dataDir, 'X'));
        const handle = env.client.workflow.getHandle(importWorkflowId('X'));
        await waitFor('import of X', () => handle.describe().then(() => true, () => undefined));
        await handle.result();
        assert.equal((await batchRow(database.handle.db, 'X'))?.status, 'DONE');

        // A folder written in place under its finished name, one file every 300 ms.
        const inPlace = path.join(config.dataDir, 'Y');
        fs.mkdirSync(inPlace);
        const files = fs.readdirSync(path.join(CORPUS, 'studies/TINY_ALPHA')).slice(0, 8);
        for (const file of files) {
          fs.copyFileSync(path.join(CORPUS, 'studies/TINY_ALPHA', file), path.join(inPlace, file));
          await new Promise((resolve) => setTimeout(resolve, 300));
          assert.deepEqual(await executionsOf(importWorkflowId('Y')), [], 'no import while Y is written');
        }
        const lastWrite = Date.now();
        const yHandle = env.client.workflow.getHandle(importWorkflowId('Y'));
        await waitFor('import of Y', () => yHandle.describe().then(() => true, () => undefined));
        const startedAfter = Date.now() - lastWrite;
        const yResult = await yHandle.result();
        assert.ok(startedAfter >= 1000, `Y imported ${startedAfter} ms after its last write`);
        assert.equal(yResult.figures.imageCount, files.length);

        // Rescans keep running; give them time to trigger anything twice.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        assert.equal((await executionsOf(importWorkflowId('X'))).length, 1, 'X imported once');
        assert.equal((await executionsOf(importWorkflowId('Y'))).length, 1, 'Y imported once');
      } finally {
        await watcher.close();
      }
    });
  } finally {
    dirs.cleanup();
  }
});

test('second trigger finds running import', async () => {
  await database.truncate();
  const dirs = createTestDirs();
  try {
    const folder = path.join(dirs.config.dataDir, 'Z');
    copyCorpusFolder('studies/TINY_ALPHA', folder);
    const { worker, config } = await testWorker(env, dirs.config, database.handle.db);
    await worker.runUntil(async () => {
      const results = await Promise.all([
        startImport(env.client, config, 'Z', folder),
        startImport(env.client, config, 'Z', folder),
        startImport(env.client, config, 'Z', folder),
      ]);
      assert.equal(results.filter((result) => result.started).length, 1, 'one import started');
      await env.client.workflow.getHandle(importWorkflowId('Z')).result();
    });
    const row = await batchRow(database.handle.db, 'Z');
    assert.equal(row?.deliveryCount, 1);
    assert.equal(row?.imageCount, 50);
    assert.equal(fs.existsSync(`${folder}.err`), false, 'nothing left for attention');
  } finally {
    dirs.cleanup();
  }
});
