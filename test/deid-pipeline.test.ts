import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';

import { parseElementTree, type DicomElement } from '../src/dicom/element-tree';
import { readDicom } from '../src/dicom/read';
import { deidImages, images, patients } from '../src/db/schema';
import { profileVr } from '../src/deid/actions';
import { pseudonymFor } from '../src/deid/patients';
import { mapUid } from '../src/deid/uids';
import { runCli } from './helpers/cli';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { CORPUS, copyCorpusFiles, createTestDirs, listFiles } from './helpers/fixtures';
import { batchRow, importFolder, messagesOf, testWorker } from './helpers/pipeline';
import { createTestEnv } from './helpers/temporal';

const SECRET = Buffer.from('test-secret', 'utf8');
const PatientID = '77654033';

function header(file: string): DicomElement[] {
  return parseElementTree(readDicom(fs.readFileSync(file)), profileVr).elements;
}

function text(elements: DicomElement[], tag: number): string {
  const value = elements.find((element) => element.tag === tag)?.value;
  return value ? Buffer.from(value).toString('latin1').replace(/[\0 ]+$/, '') : '';
}

function daysBetween(from: string, to: string): number {
  const utc = (date: string) =>
    Date.UTC(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8));
  return Math.round((utc(to) - utc(from)) / 86_400_000);
}

let env: TestWorkflowEnvironment;
let database: TestDatabase;

function patientRows() {
  return database.handle.db.select().from(patients).where(eq(patients.PatientID, PatientID));
}

before(async () => {
  env = await createTestEnv();
  database = await createTestDatabase('pglite');
});

after(async () => {
  await database?.dispose();
  await env?.teardown();
});

describe('de-identification across batches', () => {
  const dirs = createTestDirs();
  after(() => dirs.cleanup());
  const first = path.join(dirs.config.dataDir, 'FIRST');
  const second = path.join(dirs.config.dataDir, 'SECOND');
  const outputs = new Map<string, { batch: string; elements: DicomElement[] }>();
  let planted = '';

  before(async () => {
    copyCorpusFiles(['studies/77654033/CR1/6154', 'studies/77654033/CR2/6247'], first);
    copyCorpusFiles(['single/JPEG-lossy.dcm'], first);
    copyCorpusFiles(['studies/77654033/CR3/6278', 'studies/77654033/CT2/17106'], second);
    // A copy of CR3 with the PatientID in a kept attribute, which the profile lets through.
    planted = path.join(second, 'planted.dcm');
    fs.copyFileSync(path.join(CORPUS, 'studies/77654033/CR3/6278'), planted);
    execFileSync('dcmodify', ['-nb', '-gin', '-i', `(0018,1020)=rev ${PatientID}`, planted]);

    const { worker, config } = await testWorker(env, dirs.config, database.handle.db);
    await worker.runUntil(async () => {
      await importFolder(env, config, 'FIRST', first);
      await importFolder(env, config, 'SECOND', second);
    });

    const db = database.handle.db;
    const rows = await db
      .select({ deid: deidImages, image: images })
      .from(deidImages)
      .innerJoin(images, eq(images.id, deidImages.imageId));
    for (const { deid, image } of rows) {
      if (deid.status !== 'released') continue;
      const batch = deid.batchId === (await batchRow(db, 'FIRST'))?.id ? 'FIRST' : 'SECOND';
      const elements = header(path.join(dirs.config.deidDir, deid.path ?? ''));
      outputs.set(image.sourcePath, { batch, elements });
    }
  });

  test('one pseudonym for the patient', async () => {
    const rows = await patientRows();
    assert.equal(rows.length, 1);
    for (const [source, output] of outputs) {
      assert.equal(text(output.elements, 0x00100020), rows[0]?.pseudonym, source);
    }
  });

  test('issuer read from the header', async () => {
    const [row] = await patientRows();
    const original = header(path.join(CORPUS, 'studies/77654033/CR1/6154'));
    assert.equal(row?.IssuerOfPatientID, text(original, 0x00100021));
  });

  test('same date offset in both batches', async () => {
    const [row] = await patientRows();
    const sources = {
      'studies/77654033/CR1/6154': 'FIRST',
      'studies/77654033/CR3/6278': 'SECOND',
      'studies/77654033/CT2/17106': 'SECOND',
    };
    for (const [source, batch] of Object.entries(sources)) {
      const output = outputs.get(source);
      assert.equal(output?.batch, batch, `${source} released by ${batch}`);
      const original = text(header(path.join(CORPUS, source)), 0x00080020);
      const shifted = text(output?.elements ?? [], 0x00080020);
      assert.equal(daysBetween(original, shifted), row?.dateOffsetDays, source);
    }
  });

  test('consistent UIDs across batches', () => {
    const study = (source: string) => text(outputs.get(source)?.elements ?? [], 0x0020000d);
    const original = text(header(path.join(CORPUS, 'studies/77654033/CR1/6154')), 0x0020000d);
    assert.equal(study('studies/77654033/CR1/6154'), mapUid(original, SECRET));
    assert.equal(study('studies/77654033/CR3/6278'), study('studies/77654033/CR1/6154'));
  });

  test('burned-in image held back', async () => {
    const db = database.handle.db;
    const batch = await batchRow(db, 'FIRST');
    const messages = await messagesOf(db, batch?.id ?? -1);
    const held = messages.find((message) => message.code === 'held-back');
    assert.equal(held?.path, 'single/JPEG-lossy.dcm');
    assert.equal(outputs.has('single/JPEG-lossy.dcm'), false);
    assert.equal(batch?.status, 'DONE');
  });

  test('planted identifier held back', async () => {
    const db = database.handle.db;
    const batch = await batchRow(db, 'SECOND');
    const messages = await messagesOf(db, batch?.id ?? -1);
    const found = messages.find((message) => message.code === 'identifier-found');
    assert.equal(found?.path, 'planted.dcm');
    assert.match(found?.message ?? '', /\(0018,1020\) \(PatientID\)/);
    assert.doesNotMatch(found?.message ?? '', new RegExp(PatientID));
    assert.equal(batch?.hasError, true);
    assert.equal(outputs.has('planted.dcm'), false);
  });

  test('no temporary or unverified files', async () => {
    const files = listFiles(dirs.config.deidDir);
    assert.deepEqual(files.filter((file) => file.includes('.dicom-import-')), []);
    const db = database.handle.db;
    const released = await db.select().from(deidImages).where(eq(deidImages.status, 'released'));
    assert.equal(files.length, released.length);
  });

  test('outputs readable by dcmdump', () => {
    for (const file of listFiles(dirs.config.deidDir)) {
      execFileSync('dcmdump', ['-q', path.join(dirs.config.deidDir, file)]);
    }
  });
});

describe('pseudonyms command', () => {
  let postgresDb: TestDatabase;

  before(async () => {
    postgresDb = await createTestDatabase('postgres');
    await pseudonymFor(postgresDb.handle.db, 'MRN-1', 'HOSP', 30);
    await pseudonymFor(postgresDb.handle.db, 'MRN-2', '', 30);
  });

  after(async () => {
    await postgresDb?.dispose();
  });

  test('prints one patient', async () => {
    const [expected] = await postgresDb.handle.db
      .select()
      .from(patients)
      .where(eq(patients.PatientID, 'MRN-1'));
    const result = runCli(['pseudonyms', '--patient-id', 'MRN-1', '--json'], {
      DATABASE_URL: postgresDb.url ?? '',
    });
    assert.equal(result.status, 0, result.stderr);
    const rows = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.pseudonym, expected?.pseudonym);
    assert.equal(rows[0]?.IssuerOfPatientID, 'HOSP');
  });

  test('mapping not logged', () => {
    const result = runCli(['pseudonyms'], { DATABASE_URL: postgresDb.url ?? '' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /MRN-2/);
    assert.doesNotMatch(result.stderr, /MRN-/);
  });
});
