import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { generateFolder } from '../scripts/bench/generate';
import type { Database } from '../src/db/client';
import { batches, deliveries, deliveryFiles, images, series, studies } from '../src/db/schema';
import { parseDicom } from '../src/dicom/parse';
import { isDataRejection } from '../src/importer/query-errors';
import { type GroupOutcome, storeImageGroup } from '../src/importer/store-group';
import { type StoreImageInput, sha256Hex, storeImage } from '../src/importer/store-image';
import { walkFolder } from '../src/importer/walk';
import { type DatabaseKind, type TestDatabase, createTestDatabase } from './helpers/db';

interface Source {
  relativePath: string;
  bytes: Buffer;
}

/** Reads every file of a generated folder, sorted by path. */
async function readFolder(folder: string): Promise<Source[]> {
  const walk = await walkFolder(folder);
  return walk.files.map((file) => ({
    relativePath: file.relativePath,
    bytes: fs.readFileSync(path.join(folder, file.relativePath)),
  }));
}

/** Creates a batch, a delivery and one pending delivery_files row per source. */
async function stage(db: Database, name: string, mediaDir: string, sources: Source[]): Promise<StoreImageInput[]> {
  const [batch] = await db.insert(batches).values({ name, status: 'PROCESSING' }).returning();
  assert.ok(batch);
  const [delivery] = await db
    .insert(deliveries)
    .values({ batchId: batch.id, key: `test/${name}`, folderPath: `/nowhere/${name}` })
    .returning();
  assert.ok(delivery);
  const rows = await db
    .insert(deliveryFiles)
    .values(
      sources.map((source, ordinal) => ({
        deliveryId: delivery.id,
        ordinal,
        relativePath: source.relativePath,
        size: source.bytes.length,
      })),
    )
    .returning({ id: deliveryFiles.id });
  return sources.map((source, index) => {
    const parsed = parseDicom(source.bytes);
    assert.equal(parsed.outcome, 'import', `${source.relativePath} parses as an image`);
    if (parsed.outcome !== 'import') throw new Error('unreachable');
    return {
      mediaDir,
      batchId: batch.id,
      fileId: rows[index]?.id ?? 0,
      relativePath: source.relativePath,
      bytes: source.bytes,
      encoding: parsed.encoding,
      header: parsed.values,
    };
  });
}

function kinds(outcomes: GroupOutcome[]): string[] {
  return outcomes.map((outcome) => (outcome.ok ? outcome.outcome.kind : 'error'));
}

/** Returns a copy of `bytes` with one pixel byte changed: same header, other content. */
function otherPixels(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0xff;
  return copy;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'store-group-'));
let sources: Source[] = [];

before(async () => {
  const folder = path.join(work, 'generated');
  await generateFolder({ files: 12, series: 3, studies: 2, folder });
  sources = await readFolder(folder);
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

for (const kind of ['pglite', 'postgres'] as DatabaseKind[]) {
  describe(`storeImageGroup on ${kind}`, () => {
    let database: TestDatabase;
    let db: Database;
    let mediaDir: string;

    before(async () => {
      database = await createTestDatabase(kind);
      db = database.handle.db;
    });
    after(() => database.dispose());

    test('group of new images', async () => {
      await database.truncate();
      mediaDir = fs.mkdtempSync(path.join(work, 'media-'));
      const inputs = await stage(db, 'NEW', mediaDir, sources);
      const outcomes = await storeImageGroup(db, inputs);
      assert.deepEqual(kinds(outcomes), inputs.map(() => 'imported'));

      const rows = await db.select().from(images);
      assert.equal(rows.length, sources.length);
      assert.equal((await db.select().from(series)).length, 3);
      assert.equal((await db.select().from(studies)).length, 2);
      for (const [index, input] of inputs.entries()) {
        const outcome = outcomes[index];
        assert.ok(outcome?.ok, `${input.relativePath} is stored`);
        assert.equal(outcome.outcome.kind, 'imported');
        if (outcome.outcome.kind !== 'imported') continue;
        const [row] = rows.filter((image) => image.id === outcome.outcome.imageId);
        assert.ok(row, `${input.relativePath} has its image row`);
        assert.equal(row.SOPInstanceUID, input.header.SOPInstanceUID);
        assert.equal(row.sourcePath, input.relativePath);
        assert.equal(row.sha256, sha256Hex(input.bytes));
        assert.ok(fs.readFileSync(path.join(mediaDir, row.mediaPath)).equals(input.bytes));
        const [file] = await db.select().from(deliveryFiles).where(eq(deliveryFiles.id, input.fileId));
        assert.equal(file?.status, 'imported');
        assert.equal(file?.imageId, row.id);
        assert.equal(file?.sha256, row.sha256);
      }
      const leftovers = fs
        .readdirSync(mediaDir, { recursive: true, encoding: 'utf8' })
        .filter((name) => path.basename(name).startsWith('.'));
      assert.deepEqual(leftovers, [], 'no temporary file is left in media storage');
    });

    test('stored, repeated and conflicting UIDs', async () => {
      await database.truncate();
      mediaDir = fs.mkdtempSync(path.join(work, 'media-'));
      const [first, second, third] = sources as [Source, Source, Source];
      const staged = await stage(db, 'MIXED', mediaDir, [
        first,
        second,
        { relativePath: 'again/second.dcm', bytes: second.bytes },
        { relativePath: 'changed/first.dcm', bytes: otherPixels(first.bytes) },
        third,
        { relativePath: 'changed/third.dcm', bytes: otherPixels(third.bytes) },
      ]);
      const stored = await storeImage(db, staged[0] as StoreImageInput);
      assert.equal(stored.kind, 'imported');

      const outcomes = await storeImageGroup(db, staged.slice(1));
      assert.deepEqual(kinds(outcomes), ['imported', 'duplicate', 'conflict', 'imported', 'conflict']);
      assert.equal((await db.select().from(images)).length, 3);
      const statuses = await db
        .select({ path: deliveryFiles.relativePath, status: deliveryFiles.status })
        .from(deliveryFiles)
        .orderBy(deliveryFiles.ordinal);
      assert.deepEqual(
        statuses.map((row) => row.status),
        ['imported', 'imported', 'duplicate', 'conflict', 'imported', 'conflict'],
      );
    });

    test('rejected value fails one image', async () => {
      await database.truncate();
      mediaDir = fs.mkdtempSync(path.join(work, 'media-'));
      const inputs = await stage(db, 'REJECT', mediaDir, sources.slice(0, 5));
      const rejected = inputs[2]?.header.SOPInstanceUID;
      // A trigger takes the place of any data exception (SQLSTATE class 22) the server raises for one row.
      await db.execute(
        sql.raw(`
          create function reject_one() returns trigger language plpgsql as $$
          begin
            if new.sop_instance_uid = '${rejected}' then
              raise exception 'value rejected for test' using errcode = '22023';
            end if;
            return new;
          end $$`),
      );
      await db.execute(sql`create trigger reject_one before insert on images for each row execute function reject_one()`);
      try {
        const outcomes = await storeImageGroup(db, inputs);
        assert.deepEqual(kinds(outcomes), ['imported', 'imported', 'error', 'imported', 'imported']);
        const failure = outcomes[2];
        assert.ok(failure, 'the rejected image has an outcome');
        assert.equal(failure.ok, false, 'the rejected image fails');
        if (failure.ok) return;
        assert.ok(isDataRejection(failure.error), `data exception: ${String(failure.error)}`);
        assert.equal((await db.select().from(images)).length, 4);
      } finally {
        await db.execute(sql`drop trigger reject_one on images`);
        await db.execute(sql`drop function reject_one()`);
      }
    });
  });
}

describe('storeImageGroup under concurrency', () => {
  let database: TestDatabase;

  before(async () => {
    database = await createTestDatabase('postgres');
  });
  after(() => database.dispose());

  test('overlapping groups store once', async () => {
    const db = database.handle.db;
    for (let round = 0; round < 5; round += 1) {
      await database.truncate();
      const mediaDir = fs.mkdtempSync(path.join(work, 'media-'));
      const left = await stage(db, `LEFT${round}`, mediaDir, sources);
      const right = await stage(db, `RIGHT${round}`, mediaDir, [...sources].reverse());
      const [leftOutcomes, rightOutcomes] = await Promise.all([
        storeImageGroup(db, left),
        storeImageGroup(db, right),
      ]);
      const all = [...leftOutcomes, ...rightOutcomes];
      for (const outcome of all) {
        assert.ok(outcome.ok, `no error: ${outcome.ok ? '' : String(outcome.error)}`);
      }
      const imported = kinds(all).filter((kind) => kind === 'imported').length;
      const duplicates = kinds(all).filter((kind) => kind === 'duplicate').length;
      assert.equal(imported, sources.length, `round ${round}: each UID imported once`);
      assert.equal(duplicates, sources.length, `round ${round}: each second copy is a duplicate`);
      const rows = await db.select({ uid: images.SOPInstanceUID }).from(images);
      assert.equal(new Set(rows.map((row) => row.uid)).size, sources.length);
      assert.equal(rows.length, sources.length);
    }
  });
});
