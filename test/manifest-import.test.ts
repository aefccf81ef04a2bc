import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { batchMessages, deliveryFiles, images, series, studies } from '../src/db/schema';
import { type TestDatabase, createTestDatabase } from './helpers/db';
import { copyCorpusFiles, createTestDirs, loadManifest } from './helpers/fixtures';
import { expectedValues, reasonCategory } from './helpers/manifest';
import { importFolder, testWorker } from './helpers/pipeline';
import { createTestEnv } from './helpers/temporal';

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

/** Stored values of every image, by the source path it was imported from. */
async function storedValues(db: TestDatabase['handle']['db']) {
  const rows = await db
    .select({ image: images, series, study: studies })
    .from(images)
    .innerJoin(series, eq(series.id, images.seriesId))
    .innerJoin(studies, eq(studies.id, series.studyId));
  return new Map(
    rows.map(({ image, series: s, study }) => [
      image.sourcePath,
      {
        SOPInstanceUID: image.SOPInstanceUID,
        SOPClassUID: image.SOPClassUID,
        StudyInstanceUID: study.StudyInstanceUID,
        SeriesInstanceUID: s.SeriesInstanceUID,
        PatientID: study.PatientID,
        PatientName: study.PatientName,
        AccessionNumber: study.AccessionNumber,
        StudyDate: study.StudyDate,
        Modality: s.Modality,
        SeriesNumber: s.SeriesNumber,
        InstanceNumber: image.InstanceNumber,
        SeriesDescription: s.SeriesDescription,
        TransferSyntaxUID: image.TransferSyntaxUID,
        NumberOfFrames: image.NumberOfFrames,
        encoding: image.encoding,
      } as Record<string, string>,
    ]),
  );
}

// Files of the corpus share SOPInstanceUIDs on purpose, so one import stores only one of each. The
// test imports the whole corpus, then again in a fresh database the files that were set aside,
// until every importable file has been stored once and compared with the manifest.
test('corpus import matches manifest', async () => {
  const manifest = loadManifest();
  const importable = manifest.filter((entry) => entry.expect === 'import');
  const skipped = manifest.filter((entry) => entry.expect === 'skip');
  const checked = new Set<string>();
  let remaining = manifest.map((entry) => entry.path);
  let pass = 0;

  const dirs = createTestDirs();
  try {
    const { worker, config } = await testWorker(env, dirs.config, database.handle.db);
    await worker.runUntil(async () => {
      while (remaining.length > 0 && pass < 10) {
        pass += 1;
        await database.truncate();
        const folder = path.join(config.dataDir, `CORPUS${pass}`);
        copyCorpusFiles(remaining, folder);

        const result = await importFolder(env, config, `CORPUS${pass}`, folder);
        const db = database.handle.db;
        assert.equal(result.figures.failedCount, 0, `pass ${pass}: no file failed`);
        // NOTE: the leak scan holds an image back when a shifted date of one patient equals an
        // original date in the batch. The offsets are random, so across this many patients and
        // dates such a hold is possible; this test is about the stored values, so it allows
        // those holds and no other error.
        const errors = (await db.select().from(batchMessages)).filter((m) => m.level === 'error');
        const unexpected = errors.filter((m) => m.code !== 'identifier-found');
        assert.deepEqual(unexpected.map((m) => m.message), [], `pass ${pass}: errors`);
        const stored = await storedValues(db);

        for (const [source, values] of stored) {
          const entry = importable.find((candidate) => candidate.path === source);
          assert.ok(entry, `${source} stored, and the manifest expects an import`);
          for (const [key, value] of Object.entries(expectedValues(source, entry.values))) {
            assert.equal(values[key], value, `${source}: ${key}`);
          }
          assert.equal(values.encoding, entry.encoding, `${source}: encoding`);
          checked.add(source);
        }

        if (pass === 1) {
          const messages = await db.select().from(batchMessages);
          for (const entry of skipped) {
            const warning = messages.find((m) => m.path === entry.path && m.code === 'skipped');
            assert.ok(warning, `${entry.path}: skip warning`);
            const reason = warning.message.replace(`${entry.path}: skipped: `, '');
            assert.equal(reasonCategory(reason), reasonCategory(entry.reason ?? ''), `${entry.path}: reason`);
          }
        }

        const setAside = await db
          .select({ relativePath: deliveryFiles.relativePath })
          .from(deliveryFiles)
          .where(eq(deliveryFiles.status, 'conflict'));
        const duplicates = await db
          .select({ relativePath: deliveryFiles.relativePath })
          .from(deliveryFiles)
          .where(eq(deliveryFiles.status, 'duplicate'));
        remaining = [...setAside, ...duplicates].map((row) => row.relativePath);
        fs.rmSync(folder, { recursive: true, force: true });
      }
    });
  } finally {
    dirs.cleanup();
  }

  assert.deepEqual(remaining, [], 'every file stored within the passes');
  for (const entry of importable) {
    assert.ok(checked.has(entry.path), `${entry.path} stored and compared`);
  }
});
