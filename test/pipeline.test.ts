import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { deidImages, images, series, studies } from '../src/db/schema';
import { type DatabaseKind, type TestDatabase, createTestDatabase } from './helpers/db';
import { copyCorpusFiles, copyCorpusFolder, createTestDirs, listFiles, loadManifest } from './helpers/fixtures';
import { batchRow, importFolder, messagesOf, testWorker } from './helpers/pipeline';
import { createTestEnv } from './helpers/temporal';

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let env: TestWorkflowEnvironment;

before(async () => {
  env = await createTestEnv();
});

after(async () => {
  await env?.teardown();
});

for (const kind of ['pglite', 'postgres'] as DatabaseKind[]) {
  describe(`pipeline on ${kind}`, () => {
    let database: TestDatabase;

    before(async () => {
      database = await createTestDatabase(kind);
    });

    after(async () => {
      await database?.dispose();
    });

    test('study folder imported, stored and de-identified', async () => {
      const dirs = createTestDirs();
      try {
        const folder = path.join(dirs.config.dataDir, 'X');
        copyCorpusFolder('studies/77654033', folder);
        const sources = new Map(listFiles(folder).map((file) => [file, sha256(path.join(folder, file))]));
        const { worker, config } = await testWorker(env, dirs.config, database.handle.db);

        const result = await worker.runUntil(importFolder(env, config, 'X', folder));
        const db = database.handle.db;

        assert.equal(result.status, 'DONE');
        assert.equal(result.figures.imageCount, 7);
        assert.equal(result.figures.seriesCount, 4);
        assert.equal(result.figures.studyCount, 2);
        assert.equal(result.figures.warningCount, 0);
        assert.equal(result.source.action, 'removed');
        assert.equal(fs.existsSync(folder), false, 'source folder removed');

        const row = await batchRow(db, 'X');
        assert.equal(row?.status, 'DONE');
        assert.equal(row?.imageCount, 7);
        assert.equal(row?.firstStudyDate, '19950903');
        assert.equal(row?.lastStudyDate, '20010101');
        assert.ok((row?.byteCount ?? 0) > 0, 'byte count recorded');
        assert.ok(row?.finishedAt, 'finish time recorded');

        const stored = await db.select().from(images).where(eq(images.batchId, row?.id ?? -1));
        assert.equal(stored.length, 7);
        for (const image of stored) {
          const copy = path.join(config.mediaDir, image.mediaPath);
          assert.equal(sha256(copy), image.sha256, `media copy of ${image.sourcePath} matches its row`);
          assert.equal(image.sha256, sources.get(image.sourcePath), `${image.sourcePath} copied unchanged`);
        }
        assert.deepEqual(
          listFiles(config.mediaDir).filter((file) => file.includes('.dicom-import-')),
          [],
          'no temporary files left in media storage',
        );

        const released = await db.select().from(deidImages).where(eq(deidImages.batchId, row?.id ?? -1));
        assert.equal(released.length, 7);
        for (const output of released) {
          assert.equal(output.status, 'released');
          const file = path.join(config.deidDir, output.path ?? '');
          const dump = execFileSync('dcmdump', ['+E', file], { encoding: 'utf8' });
          assert.doesNotMatch(dump, /Doe\^Archibald/, 'patient name removed');
        }
      } finally {
        dirs.cleanup();
      }
    });

    test('broken-only folder ends EMPTY with warnings', async () => {
      const dirs = createTestDirs();
      try {
        const skips = loadManifest().filter((entry) => entry.expect === 'skip');
        const folder = path.join(dirs.config.dataDir, 'BROKEN');
        copyCorpusFiles(skips.map((entry) => entry.path), folder);
        const { worker, config } = await testWorker(env, dirs.config, database.handle.db);

        const result = await worker.runUntil(importFolder(env, config, 'BROKEN', folder));

        assert.equal(result.status, 'EMPTY');
        assert.equal(result.figures.imageCount, 0);
        assert.equal(result.figures.skippedCount, skips.length);
        const row = await batchRow(database.handle.db, 'BROKEN');
        assert.equal(row?.status, 'EMPTY');
        const messages = await messagesOf(database.handle.db, row?.id ?? -1);
        for (const entry of skips) {
          const message = messages.find((m) => m.path === entry.path);
          assert.ok(message, `warning names ${entry.path}`);
          assert.equal(message.level, 'warning');
        }
      } finally {
        dirs.cleanup();
      }
    });

    test('re-delivery stores nothing twice', async () => {
      const dirs = createTestDirs();
      try {
        const folder = path.join(dirs.config.dataDir, 'ALPHA');
        const { worker, config } = await testWorker(env, dirs.config, database.handle.db);
        const db = database.handle.db;

        let mediaBefore: string[] = [];
        let mtimes: number[] = [];
        const [first, second] = await worker.runUntil(async () => {
          copyCorpusFolder('studies/TINY_ALPHA', folder);
          const firstRun = await importFolder(env, config, 'ALPHA', folder);
          mediaBefore = listFiles(config.mediaDir);
          mtimes = mediaBefore.map((file) => fs.statSync(path.join(config.mediaDir, file)).mtimeMs);

          copyCorpusFolder('studies/TINY_ALPHA', folder);
          const secondRun = await importFolder(env, config, 'ALPHA', folder);
          return [firstRun, secondRun];
        });

        assert.equal(first.figures.imageCount, 50);
        assert.equal(second.status, 'DONE');
        assert.equal(second.figures.imageCount, 50);
        assert.equal(second.figures.duplicateCount, 50);
        const row = await batchRow(db, 'ALPHA');
        assert.equal(row?.deliveryCount, 2);
        const stored = await db.select().from(images).where(eq(images.batchId, row?.id ?? -1));
        assert.equal(stored.length, 50);
        assert.deepEqual(listFiles(config.mediaDir), mediaBefore);
        const mtimesAfter = mediaBefore.map((file) => fs.statSync(path.join(config.mediaDir, file)).mtimeMs);
        assert.deepEqual(mtimesAfter, mtimes, 'media copies not rewritten');
        assert.equal(fs.existsSync(folder), false);
      } finally {
        dirs.cleanup();
      }
    });

    test('same SOPInstanceUID twice in one folder', async () => {
      const dirs = createTestDirs();
      try {
        const folder = path.join(dirs.config.dataDir, 'CT');
        copyCorpusFolder('ct', folder);
        const { worker, config } = await testWorker(env, dirs.config, database.handle.db);

        const result = await worker.runUntil(importFolder(env, config, 'CT', folder));

        // Three CT1_UNC files and two CT0012 files: two instances, each in several transfer syntaxes.
        assert.equal(result.figures.imageCount, 2);
        assert.equal(result.figures.conflictCount, 3);
        assert.equal(result.figures.warningCount, 3);
        assert.equal(result.status, 'DONE');
        assert.equal(listFiles(path.join(config.mediaDir, 'conflicts')).length, 3, 'conflicts kept aside');
        assert.equal(fs.existsSync(folder), false, 'folder removed: every file is stored or kept aside');
      } finally {
        dirs.cleanup();
      }
    });
  });
}

describe('pipeline faults', () => {
  let database: TestDatabase;

  before(async () => {
    database = await createTestDatabase('pglite');
  });

  after(async () => {
    await database?.dispose();
  });

  test('media storage fault retried', async () => {
    const dirs = createTestDirs();
    try {
      const folder = path.join(dirs.config.dataDir, 'RETRY');
      copyCorpusFolder('studies/98892001', folder);
      const { worker, config } = await testWorker(env, dirs.config, database.handle.db);
      const db = database.handle.db;

      // A plain file where the study's media folder must go makes every copy fail with ENOTDIR.
      const blocker = path.join(config.mediaDir, '1.2.840.113619.2.5.1762583153.215519.978957063.78');
      const studyUid = execFileSync('dcmdump', ['+P', 'StudyInstanceUID', path.join(folder, 'CT2N/6293')], {
        encoding: 'utf8',
      }).match(/\[([0-9.]+)\]/)?.[1];
      assert.ok(studyUid, 'StudyInstanceUID read with dcmdump');
      fs.writeFileSync(path.join(config.mediaDir, studyUid), 'not a folder');
      void blocker;

      const run = importFolder(env, config, 'RETRY', folder);
      const result = await worker.runUntil(async () => {
        const handle = env.client.workflow.list({ query: `WorkflowType = 'importBatchWorkflow'` });
        void handle;
        // Wait until an import activity has failed at least once, then remove the fault.
        const deadline = Date.now() + 60_000;
        let failedOnce = false;
        while (!failedOnce && Date.now() < deadline) {
          for await (const execution of env.client.workflow.list()) {
            if (execution.status.name !== 'RUNNING') continue;
            const description = await env.client.workflow.getHandle(execution.workflowId).describe();
            const pending = description.raw.pendingActivities ?? [];
            if (pending.some((activity) => (activity.attempt ?? 0) > 1)) failedOnce = true;
          }
          if (!failedOnce) await new Promise((resolve) => setTimeout(resolve, 200));
        }
        assert.ok(failedOnce, 'an import activity failed and was retried');
        fs.rmSync(path.join(config.mediaDir, studyUid));
        return run;
      });

      assert.equal(result.status, 'DONE');
      assert.equal(result.figures.imageCount, 7);
      const row = await batchRow(db, 'RETRY');
      const stored = await db.select().from(images).where(eq(images.batchId, row?.id ?? -1));
      assert.equal(stored.length, 7, 'every image stored once');
      const seriesRows = await db.select().from(series);
      const studyRows = await db.select().from(studies);
      assert.equal(seriesRows.length, 2);
      assert.equal(studyRows.length, 1);
    } finally {
      dirs.cleanup();
    }
  });
});
