import fs from 'node:fs/promises';
import path from 'node:path';
import { type SQL, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { images, series, studies } from '../db/schema';
import type { ImageHeader } from '../dicom/types';
import { removeQuietly, storageError, syncDirectory, writeTempFile } from '../storage/files';
import {
  type StoreImageInput,
  type StoreImageOutcome,
  mediaRelativePath,
  sha256Hex,
  storeImage,
  withoutNul,
} from './store-image';
import { isDataRejection } from './query-errors';

/** The outcome of one image of a group: stored, or the error that `storeImage` raised for it alone. */
export type GroupOutcome = { ok: true; outcome: StoreImageOutcome } | { ok: false; error: unknown };

interface NewImage {
  index: number;
  input: StoreImageInput;
  header: ImageHeader;
  sha256: string;
  mediaPath: string;
  finalPath: string;
  tempPath?: string;
}

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/**
 * Stores a group of parsed images of one batch with about ten statements in all, instead of ten
 * per image.
 *
 * Images whose SOPInstanceUID is not yet stored are written to flushed temporary files and then,
 * in one transaction, locked, checked again, renamed into place and inserted with their studies,
 * series and file statuses. Every other image takes the per-image path of `storeImage`, which
 * decides between duplicate and conflict. These are images already stored before the group, images
 * another worker stored while the group waited for its locks, and later copies of a SOPInstanceUID
 * that occurs twice in the group.
 *
 * The advisory locks are the same per-UID locks that `storeImage` takes. A group takes them in
 * ascending key order, so two groups cannot deadlock, and `storeImage` takes one lock at a time.
 * When the database rejects a value of the group, every image of it is stored on its own, so only
 * the bad image fails. Storage and connection faults are raised, and the caller's retry repeats the
 * group; images committed by then are no longer pending.
 */
export async function storeImageGroup(
  db: Database,
  inputs: readonly StoreImageInput[],
): Promise<GroupOutcome[]> {
  const outcomes: Array<GroupOutcome | undefined> = new Array(inputs.length);
  const fresh = await freshImages(db, inputs);
  if (fresh.length > 0) {
    const committed = await commitGroup(db, fresh);
    // A rejected group leaves every image to the per-image path below, which fails only the bad one.
    if (committed !== 'rejected') {
      for (const [index, imageId] of committed) {
        outcomes[index] = { ok: true, outcome: { kind: 'imported', imageId } };
      }
    }
  }

  // In input order, so a second copy of a SOPInstanceUID finds the first one stored.
  for (let index = 0; index < inputs.length; index += 1) {
    if (outcomes[index] !== undefined) continue;
    try {
      outcomes[index] = { ok: true, outcome: await storeImage(db, inputs[index] as StoreImageInput) };
    } catch (error) {
      outcomes[index] = { ok: false, error };
    }
  }
  return outcomes as GroupOutcome[];
}

/** Returns the images whose SOPInstanceUID is not stored yet, the first copy of each UID only. */
async function freshImages(db: Database, inputs: readonly StoreImageInput[]): Promise<NewImage[]> {
  const candidates: NewImage[] = [];
  const seen = new Set<string>();
  inputs.forEach((input, index) => {
    const header = withoutNul(input.header);
    if (seen.has(header.SOPInstanceUID)) return;
    seen.add(header.SOPInstanceUID);
    const mediaPath = mediaRelativePath(header);
    candidates.push({
      index,
      input,
      header,
      sha256: sha256Hex(input.bytes),
      mediaPath,
      finalPath: path.join(input.mediaDir, mediaPath),
    });
  });
  if (candidates.length === 0) return [];
  const stored = await storedUids(db, candidates);
  return candidates.filter((image) => !stored.has(image.header.SOPInstanceUID));
}

async function storedUids(db: Database | Transaction, group: readonly NewImage[]): Promise<Set<string>> {
  const rows = await db
    .select({ uid: images.SOPInstanceUID })
    .from(images)
    .where(
      inArray(
        images.SOPInstanceUID,
        group.map((image) => image.header.SOPInstanceUID),
      ),
    );
  return new Set(rows.map((row) => row.uid));
}

/**
 * Writes the group's temporary files, then commits the group in one transaction. Returns the new
 * image id by input index for every image it stored, or `rejected` when the database rejected a
 * value. Images left out were stored by another worker meanwhile.
 */
async function commitGroup(db: Database, group: NewImage[]): Promise<Map<number, number> | 'rejected'> {
  try {
    await writeTempFiles(group);
    return await db.transaction(async (tx) => {
      await lockUids(tx, group);
      const stored = await storedUids(tx, group);
      const mine = group.filter((image) => !stored.has(image.header.SOPInstanceUID));
      if (mine.length === 0) return new Map<number, number>();

      await renameIntoPlace(mine);
      const studyIds = await findOrCreateStudies(tx, mine);
      const seriesIds = await findOrCreateSeries(tx, mine, studyIds);
      const imageIds = await insertImages(tx, mine, seriesIds);
      await markImported(tx, mine, imageIds);
      return new Map(mine.map((image) => [image.index, imageIds.get(image.header.SOPInstanceUID) as number]));
    });
  } catch (error) {
    if (isDataRejection(error)) return 'rejected';
    throw error;
  } finally {
    for (const image of group) {
      if (image.tempPath !== undefined) await removeQuietly(image.tempPath);
    }
  }
}

/** Writes and flushes the temporary files, a few at once. The caller removes them on failure. */
async function writeTempFiles(group: NewImage[]): Promise<void> {
  const results = await Promise.allSettled(
    group.map(async (image) => {
      image.tempPath = await writeTempFile(image.finalPath, image.input.bytes);
    }),
  );
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
}

/** Takes the per-UID advisory locks in ascending key order, the same keys as `storeImage`. */
async function lockUids(tx: Transaction, group: readonly NewImage[]): Promise<void> {
  const uids = sql.join(
    group.map((image) => sql`(${image.header.SOPInstanceUID})`),
    sql`, `,
  );
  await tx.execute(sql`
    select pg_advisory_xact_lock(key)
    from (select distinct hashtextextended(uid, 0) as key from (values ${uids}) as t(uid) order by key) as keys`);
}

/** Renames every temporary file to its final name, then flushes each folder once. */
async function renameIntoPlace(group: NewImage[]): Promise<void> {
  const folders = new Set<string>();
  for (const image of group) {
    const tempPath = image.tempPath as string;
    try {
      await fs.rename(tempPath, image.finalPath);
    } catch (error) {
      throw storageError(image.finalPath, 'rename', error);
    }
    image.tempPath = undefined;
    folders.add(path.dirname(image.finalPath));
  }
  for (const folder of folders) {
    try {
      await syncDirectory(folder);
    } catch (error) {
      throw storageError(folder, 'rename', error);
    }
  }
}

/** Returns study ids by StudyInstanceUID. A new study takes its values from its first image in the group. */
async function findOrCreateStudies(tx: Transaction, group: readonly NewImage[]): Promise<Map<string, number>> {
  const first = firstBy(group, (image) => image.header.StudyInstanceUID);
  const select = () =>
    tx
      .select({ id: studies.id, uid: studies.StudyInstanceUID })
      .from(studies)
      .where(inArray(studies.StudyInstanceUID, [...first.keys()]));
  return findOrCreate(first, select, async (missing) => {
    await tx
      .insert(studies)
      .values(
        missing.map(({ header }) => ({
          StudyInstanceUID: header.StudyInstanceUID,
          AccessionNumber: header.AccessionNumber,
          StudyDate: header.StudyDate,
          StudyTime: header.StudyTime,
          StudyDescription: header.StudyDescription,
          PatientID: header.PatientID,
          PatientName: header.PatientName,
        })),
      )
      .onConflictDoNothing();
  });
}

async function findOrCreateSeries(
  tx: Transaction,
  group: readonly NewImage[],
  studyIds: Map<string, number>,
): Promise<Map<string, number>> {
  const first = firstBy(group, (image) => image.header.SeriesInstanceUID);
  const select = () =>
    tx
      .select({ id: series.id, uid: series.SeriesInstanceUID })
      .from(series)
      .where(inArray(series.SeriesInstanceUID, [...first.keys()]));
  return findOrCreate(first, select, async (missing) => {
    await tx
      .insert(series)
      .values(
        missing.map(({ header }) => ({
          studyId: studyIds.get(header.StudyInstanceUID) as number,
          SeriesInstanceUID: header.SeriesInstanceUID,
          Modality: header.Modality,
          SeriesNumber: header.SeriesNumber,
          SeriesDescription: header.SeriesDescription,
        })),
      )
      .onConflictDoNothing();
  });
}

/**
 * Selects the ids of `wanted`, then inserts the missing rows and selects again. The insert skips
 * rows that a concurrent transaction inserted meanwhile. Most groups find their study and series
 * stored, so this is usually one statement.
 */
async function findOrCreate(
  wanted: Map<string, NewImage>,
  select: () => Promise<Array<{ id: number; uid: string }>>,
  insert: (missing: NewImage[]) => Promise<void>,
): Promise<Map<string, number>> {
  const ids = new Map((await select()).map((row) => [row.uid, row.id]));
  const missing = [...wanted].filter(([uid]) => !ids.has(uid)).map(([, image]) => image);
  if (missing.length === 0) return ids;
  await insert(missing);
  for (const row of await select()) ids.set(row.uid, row.id);
  for (const uid of wanted.keys()) {
    if (!ids.has(uid)) throw new Error(`row for UID ${uid} neither inserted nor found`);
  }
  return ids;
}

function firstBy(group: readonly NewImage[], key: (image: NewImage) => string): Map<string, NewImage> {
  const first = new Map<string, NewImage>();
  for (const image of group) {
    const value = key(image);
    if (!first.has(value)) first.set(value, image);
  }
  return first;
}

async function insertImages(
  tx: Transaction,
  group: readonly NewImage[],
  seriesIds: Map<string, number>,
): Promise<Map<string, number>> {
  const rows = await tx
    .insert(images)
    .values(
      group.map(({ input, header, mediaPath, sha256 }) => ({
        seriesId: seriesIds.get(header.SeriesInstanceUID) as number,
        batchId: input.batchId,
        SOPInstanceUID: header.SOPInstanceUID,
        SOPClassUID: header.SOPClassUID,
        InstanceNumber: header.InstanceNumber,
        TransferSyntaxUID: header.TransferSyntaxUID,
        NumberOfFrames: header.NumberOfFrames,
        BurnedInAnnotation: header.BurnedInAnnotation,
        encoding: input.encoding,
        sourcePath: input.relativePath,
        mediaPath,
        size: input.bytes.length,
        sha256,
      })),
    )
    .returning({ id: images.id, uid: images.SOPInstanceUID });
  if (rows.length !== group.length) {
    throw new Error(`insert of ${group.length} images returned ${rows.length} rows`);
  }
  return new Map(rows.map((row) => [row.uid, row.id]));
}

async function markImported(
  tx: Transaction,
  group: readonly NewImage[],
  imageIds: Map<string, number>,
): Promise<void> {
  const values: SQL[] = group.map(
    (image) =>
      sql`(${image.input.fileId}::bigint, ${imageIds.get(image.header.SOPInstanceUID)}::bigint, ${image.sha256})`,
  );
  await tx.execute(sql`
    update delivery_files as d
    set status = 'imported', image_id = v.image_id, sha256 = v.sha256, reason = null, updated_at = now()
    from (values ${sql.join(values, sql`, `)}) as v(id, image_id, sha256)
    where d.id = v.id`);
}
