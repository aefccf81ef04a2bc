import { createHash } from 'node:crypto';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { conflicts, deliveryFiles, images, series, studies } from '../db/schema';
import type { DicomEncoding, ImageHeader } from '../dicom/types';
import { commitTempFile, removeQuietly, uidPathComponent, writeTempFile } from '../storage/files';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Media path of an image, relative to MEDIA_DIR: `<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`. */
export function mediaRelativePath(header: ImageHeader): string {
  const part = (uid: string) => uidPathComponent(uid, sha256Hex);
  return path.join(
    part(header.StudyInstanceUID),
    part(header.SeriesInstanceUID),
    `${part(header.SOPInstanceUID)}.dcm`,
  );
}

/** Path, relative to MEDIA_DIR, where a conflicting copy is kept: one file per distinct content. */
export function conflictRelativePath(header: ImageHeader, sha256: string): string {
  return path.join('conflicts', uidPathComponent(header.SOPInstanceUID, sha256Hex), `${sha256}.dcm`);
}

export interface StoreImageInput {
  mediaDir: string;
  batchId: number;
  fileId: number;
  relativePath: string;
  bytes: Buffer;
  encoding: DicomEncoding;
  header: ImageHeader;
}

export type StoreImageOutcome =
  | { kind: 'imported'; imageId: number }
  | { kind: 'duplicate'; imageId: number; existingBatchId: number; existingSourcePath: string }
  | { kind: 'conflict'; imageId: number; existingSourcePath: string; keptPath: string };

/**
 * Stores one parsed image: its media copy, then its Study, Series and Image rows and the file's
 * status, in one transaction.
 *
 * The copy is written to a temporary file and flushed before the transaction; inside it, an advisory
 * lock on the SOPInstanceUID serialises every worker that holds the same instance, so the decision
 * between new image, duplicate and conflict, the rename into place and the insert happen as one step.
 * A crash before the commit leaves at most an unreferenced copy, which the next attempt replaces.
 */
export async function storeImage(db: Database, input: StoreImageInput): Promise<StoreImageOutcome> {
  const sha256 = sha256Hex(input.bytes);
  const header = withoutNul(input.header);

  // Re-deliveries are mostly identical images: an existing row with the same bytes needs no copy.
  const [stored] = await db
    .select({ id: images.id, sha256: images.sha256, batchId: images.batchId, sourcePath: images.sourcePath })
    .from(images)
    .where(eq(images.SOPInstanceUID, header.SOPInstanceUID));
  if (stored && stored.sha256 === sha256) {
    await markFile(db, input.fileId, 'duplicate', stored.id, sha256);
    return {
      kind: 'duplicate',
      imageId: stored.id,
      existingBatchId: stored.batchId,
      existingSourcePath: stored.sourcePath,
    };
  }

  const mediaPath = mediaRelativePath(header);
  const finalPath = path.join(input.mediaDir, mediaPath);
  const tempPath = await writeTempFile(finalPath, input.bytes);
  let tempPending = true;

  try {
    return await db.transaction(async (tx) => {
      const { SOPInstanceUID } = header;
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${SOPInstanceUID}, 0))`);

      const [existing] = await tx
        .select({
          id: images.id,
          sha256: images.sha256,
          batchId: images.batchId,
          sourcePath: images.sourcePath,
        })
        .from(images)
        .where(eq(images.SOPInstanceUID, SOPInstanceUID));

      if (existing && existing.sha256 === sha256) {
        await markFile(tx, input.fileId, 'duplicate', existing.id, sha256);
        return {
          kind: 'duplicate' as const,
          imageId: existing.id,
          existingBatchId: existing.batchId,
          existingSourcePath: existing.sourcePath,
        };
      }

      if (existing) {
        const keptPath = conflictRelativePath(header, sha256);
        await commitTempFile(tempPath, path.join(input.mediaDir, keptPath));
        tempPending = false;
        await tx
          .insert(conflicts)
          .values({
            batchId: input.batchId,
            imageId: existing.id,
            SOPInstanceUID,
            sourcePath: input.relativePath,
            keptPath,
            size: input.bytes.length,
            sha256,
          })
          .onConflictDoNothing();
        await markFile(tx, input.fileId, 'conflict', existing.id, sha256);
        return {
          kind: 'conflict' as const,
          imageId: existing.id,
          existingSourcePath: existing.sourcePath,
          keptPath,
        };
      }

      await commitTempFile(tempPath, finalPath);
      tempPending = false;
      const studyId = await findOrCreateStudy(tx, header);
      const seriesId = await findOrCreateSeries(tx, studyId, header);
      const [row] = await tx
        .insert(images)
        .values({
          seriesId,
          batchId: input.batchId,
          SOPInstanceUID,
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
        })
        .returning({ id: images.id });
      if (!row) throw new Error(`insert of image ${SOPInstanceUID} returned no row`);
      await markFile(tx, input.fileId, 'imported', row.id, sha256);
      return { kind: 'imported' as const, imageId: row.id };
    });
  } finally {
    if (tempPending) await removeQuietly(tempPath);
  }
}

/** Postgres text cannot hold NUL, which damaged files can carry inside a value. */
export function withoutNul(header: ImageHeader): ImageHeader {
  const cleaned = { ...header };
  for (const key of Object.keys(cleaned) as Array<keyof ImageHeader>) {
    cleaned[key] = cleaned[key].replace(/\0/g, '');
  }
  return cleaned;
}

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

async function markFile(
  tx: Transaction | Database,
  fileId: number,
  status: 'imported' | 'duplicate' | 'conflict',
  imageId: number,
  sha256: string,
): Promise<void> {
  await tx
    .update(deliveryFiles)
    .set({ status, imageId, sha256, reason: null, updatedAt: new Date() })
    .where(eq(deliveryFiles.id, fileId));
}

async function findOrCreateStudy(tx: Transaction, header: ImageHeader): Promise<number> {
  const where = eq(studies.StudyInstanceUID, header.StudyInstanceUID);
  const [found] = await tx.select({ id: studies.id }).from(studies).where(where);
  if (found) return found.id;
  const [created] = await tx
    .insert(studies)
    .values({
      StudyInstanceUID: header.StudyInstanceUID,
      AccessionNumber: header.AccessionNumber,
      StudyDate: header.StudyDate,
      StudyTime: header.StudyTime,
      StudyDescription: header.StudyDescription,
      PatientID: header.PatientID,
      PatientName: header.PatientName,
    })
    .onConflictDoNothing()
    .returning({ id: studies.id });
  if (created) return created.id;
  const [raced] = await tx.select({ id: studies.id }).from(studies).where(where);
  if (!raced) throw new Error(`study ${header.StudyInstanceUID} neither inserted nor found`);
  return raced.id;
}

async function findOrCreateSeries(
  tx: Transaction,
  studyId: number,
  header: ImageHeader,
): Promise<number> {
  const where = eq(series.SeriesInstanceUID, header.SeriesInstanceUID);
  const [found] = await tx.select({ id: series.id }).from(series).where(where);
  if (found) return found.id;
  const [created] = await tx
    .insert(series)
    .values({
      studyId,
      SeriesInstanceUID: header.SeriesInstanceUID,
      Modality: header.Modality,
      SeriesNumber: header.SeriesNumber,
      SeriesDescription: header.SeriesDescription,
    })
    .onConflictDoNothing()
    .returning({ id: series.id });
  if (created) return created.id;
  const [raced] = await tx.select({ id: series.id }).from(series).where(where);
  if (!raced) throw new Error(`series ${header.SeriesInstanceUID} neither inserted nor found`);
  return raced.id;
}

