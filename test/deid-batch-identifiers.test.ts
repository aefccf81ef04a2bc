import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { batches, deliveries, deliveryFiles, images, series, studies } from '../src/db/schema';
import { batchIdentifiers } from '../src/deid/batch-identifiers';
import { type DatabaseKind, type TestDatabase, createTestDatabase } from './helpers/db';

const ROOT = '1.2.826.0.1.3680043.8.498';

/** Inserts an image of `seriesId` and a delivery file with `status` that points at it. */
async function addImage(
  database: TestDatabase,
  ids: { batchId: number; deliveryId: number; seriesId: number },
  ordinal: number,
  status: 'imported' | 'duplicate' | 'failed',
): Promise<string> {
  const SOPInstanceUID = `${ROOT}.3.${ordinal}`;
  const [image] = await database.handle.db
    .insert(images)
    .values({
      seriesId: ids.seriesId,
      batchId: ids.batchId,
      SOPInstanceUID,
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      InstanceNumber: String(ordinal),
      TransferSyntaxUID: '1.2.840.10008.1.2.1',
      NumberOfFrames: '1',
      BurnedInAnnotation: '',
      encoding: 'part10',
      sourcePath: `file-${ordinal}.dcm`,
      mediaPath: `media-${ordinal}.dcm`,
      size: 1,
      sha256: '0'.repeat(64),
    })
    .returning({ id: images.id });
  await database.handle.db.insert(deliveryFiles).values({
    deliveryId: ids.deliveryId,
    ordinal,
    relativePath: `file-${ordinal}.dcm`,
    size: 1,
    status,
    imageId: image!.id,
  });
  return SOPInstanceUID;
}

for (const kind of ['pglite', 'postgres'] as DatabaseKind[]) {
  describe(`batchIdentifiers on ${kind}`, () => {
    let database: TestDatabase;

    before(async () => {
      database = await createTestDatabase(kind);
    });

    after(async () => {
      await database?.dispose();
    });

    test('collects every study, series and image', async () => {
      const { db } = database.handle;
      const [batch] = await db.insert(batches).values({ name: 'identifiers' }).returning();
      const [delivery] = await db
        .insert(deliveries)
        .values({ batchId: batch!.id, key: 'identifiers', folderPath: '/data/identifiers' })
        .returning();
      const studyRows = await db
        .insert(studies)
        .values([
          { StudyInstanceUID: `${ROOT}.1.1`, AccessionNumber: 'ACC0001', StudyDate: '20240102',
            StudyTime: '', StudyDescription: '', PatientID: 'PID0001', PatientName: 'DOE^JANE' },
          { StudyInstanceUID: `${ROOT}.1.2`, AccessionNumber: '', StudyDate: '20230405',
            StudyTime: '', StudyDescription: '', PatientID: 'PID0002', PatientName: 'ROE^RICHARD' },
        ])
        .returning();
      const seriesRows = await db
        .insert(series)
        .values([
          { studyId: studyRows[0]!.id, SeriesInstanceUID: `${ROOT}.2.1`, Modality: 'CT',
            SeriesNumber: '1', SeriesDescription: '' },
          { studyId: studyRows[0]!.id, SeriesInstanceUID: `${ROOT}.2.2`, Modality: 'CT',
            SeriesNumber: '2', SeriesDescription: '' },
          { studyId: studyRows[1]!.id, SeriesInstanceUID: `${ROOT}.2.3`, Modality: 'MR',
            SeriesNumber: '1', SeriesDescription: '' },
          { studyId: studyRows[1]!.id, SeriesInstanceUID: `${ROOT}.2.4`, Modality: 'MR',
            SeriesNumber: '2', SeriesDescription: '' },
        ])
        .returning();
      const ids = (index: number) => ({
        batchId: batch!.id,
        deliveryId: delivery!.id,
        seriesId: seriesRows[index]!.id,
      });
      const included = [
        await addImage(database, ids(0), 0, 'imported'),
        await addImage(database, ids(0), 1, 'imported'),
        await addImage(database, ids(1), 2, 'duplicate'),
        await addImage(database, ids(2), 3, 'imported'),
      ];
      const failed = await addImage(database, ids(3), 4, 'failed');

      const found = await batchIdentifiers(db, delivery!.id);

      const expectedUids = [
        `${ROOT}.1.1`, `${ROOT}.1.2`, `${ROOT}.2.1`, `${ROOT}.2.2`, `${ROOT}.2.3`, ...included,
      ];
      assert.deepEqual([...found.uids].sort(), expectedUids.sort());
      assert.equal(found.uids.has(failed), false, 'the failed file adds no instance UID');
      assert.equal(found.uids.has(`${ROOT}.2.4`), false, 'a series of failed files only is left out');
      assert.deepEqual([...found.dates].sort(), ['20230405', '20240102']);
      assert.deepEqual(
        [...found.values.keys()].sort(),
        ['ACC0001', 'DOE^JANE', 'PID0001', 'PID0002', 'ROE^RICHARD'],
      );
    });

    test('returns nothing for a delivery without images', async () => {
      const { db } = database.handle;
      const [batch] = await db.insert(batches).values({ name: 'empty' }).returning();
      const [delivery] = await db
        .insert(deliveries)
        .values({ batchId: batch!.id, key: 'empty', folderPath: '/data/empty' })
        .returning();

      const found = await batchIdentifiers(db, delivery!.id);

      assert.equal(found.uids.size, 0);
      assert.equal(found.values.size, 0);
      assert.equal(found.dates.size, 0);
    });
  });
}
