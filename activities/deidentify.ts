import fs from 'node:fs/promises';
import path from 'node:path';
import { Context, heartbeat, log } from '@temporalio/activity';
import { eq, sql } from 'drizzle-orm';
import { recordMessage } from '../src/db/messages';
import { deidImages, images, series, studies } from '../src/db/schema';
import { deidentify } from '../src/deid/deidentify';
import { pseudonymFor, uidSecret } from '../src/deid/patients';
import { sha256Hex } from '../src/importer/store-image';
import { writeFileAtomic } from '../src/storage/files';
import type { DeidentifyChunkInput, DeidentifyResult, DeliveryRef } from '../workflows/types';
import { rowsOf } from './batch';
import type { ActivityDeps } from './deps';

/** Version of the de-identification rules, recorded in every output's DeidentificationMethod. */
export const DEID_PROFILE_VERSION = 'dicom-import basic profile 1';

export function deidentifyActivities({ db, config }: ActivityDeps) {
  async function batchImageIds(input: DeidentifyChunkInput): Promise<number[]> {
    const result = await db.execute<{ image_id: number | string }>(sql`
      select distinct image_id from delivery_files
      where delivery_id = ${input.deliveryId} and status in ('imported', 'duplicate')
      order by image_id
      offset ${input.offset} limit ${input.limit}
    `);
    return rowsOf<{ image_id: number | string }>(result).map((row) => Number(row.image_id));
  }

  async function deidentifyImage(
    ref: DeliveryRef,
    imageId: number,
    secret: Buffer,
  ): Promise<keyof DeidentifyResult | 'done'> {
    const [already] = await db
      .select({ status: deidImages.status })
      .from(deidImages)
      .where(eq(deidImages.imageId, imageId));
    if (already) return 'done';

    const [row] = await db
      .select({ image: images, PatientID: studies.PatientID })
      .from(images)
      .innerJoin(series, eq(series.id, images.seriesId))
      .innerJoin(studies, eq(studies.id, series.studyId))
      .where(eq(images.id, imageId));
    if (!row) throw new Error(`image ${imageId} not found`);
    const { image } = row;

    const patient = await pseudonymFor(db, row.PatientID, '', config.dateShiftMaxDays);
    const source = path.join(config.mediaDir, image.mediaPath);
    const bytes = await fs.readFile(source);
    if (sha256Hex(bytes) !== image.sha256) {
      return fail(ref, imageId, patient.id, `media copy ${image.mediaPath} no longer matches its SHA-256`);
    }

    let output;
    try {
      output = deidentify(bytes, {
        uidSecret: secret,
        patientPseudonym: patient.pseudonym,
        dateOffsetDays: patient.dateOffsetDays,
        profileVersion: DEID_PROFILE_VERSION,
      });
    } catch (error) {
      return fail(ref, imageId, patient.id, `de-identification failed: ${(error as Error).message}`);
    }

    if (output.burnedInAnnotation) {
      await db
        .insert(deidImages)
        .values({
          imageId,
          batchId: ref.batchId,
          patientId: patient.id,
          status: 'held',
          reason: 'BurnedInAnnotation is YES',
        })
        .onConflictDoNothing();
      await recordMessage(db, {
        batchId: ref.batchId,
        deliveryId: ref.deliveryId,
        level: 'warning',
        code: 'held-back',
        path: image.sourcePath,
        message: `${image.sourcePath}: not released, the header flags burned-in annotation`,
      });
      return 'held';
    }

    const relative = path.join(
      patient.pseudonym,
      output.StudyInstanceUID,
      output.SeriesInstanceUID,
      `${output.SOPInstanceUID}.dcm`,
    );
    await writeFileAtomic(path.join(config.deidDir, relative), output.bytes);
    await db
      .insert(deidImages)
      .values({
        imageId,
        batchId: ref.batchId,
        patientId: patient.id,
        status: 'released',
        path: relative,
        SOPInstanceUID: output.SOPInstanceUID,
        size: output.bytes.length,
        sha256: sha256Hex(output.bytes),
      })
      .onConflictDoNothing();
    return 'released';
  }

  async function fail(
    ref: DeliveryRef,
    imageId: number,
    patientId: number,
    reason: string,
  ): Promise<'failed'> {
    await db
      .insert(deidImages)
      .values({ imageId, batchId: ref.batchId, patientId, status: 'failed', reason })
      .onConflictDoNothing();
    await recordMessage(db, {
      batchId: ref.batchId,
      deliveryId: ref.deliveryId,
      level: 'error',
      code: 'deidentify-failed',
      path: `image ${imageId}`,
      message: reason,
    });
    log.error('de-identification failed', { imageId, reason });
    return 'failed';
  }

  return {
    /** Counts the images of a delivery that the deidentify workflow goes through. */
    async countDeliveryImages(ref: DeliveryRef): Promise<number> {
      const result = await db.execute<{ images: number }>(sql`
        select count(distinct image_id)::int as images from delivery_files
        where delivery_id = ${ref.deliveryId} and status in ('imported', 'duplicate')
      `);
      return Number(rowsOf<{ images: number }>(result)[0]?.images ?? 0);
    },

    /**
     * De-identifies one page of a delivery's images into DEID_DIR. Images done before (in this or an
     * earlier batch) are left as they are, so retries and re-deliveries write nothing twice.
     */
    async deidentifyImages(input: DeidentifyChunkInput): Promise<DeidentifyResult> {
      const secret = await uidSecret(db, config.deidSecret);
      const result: DeidentifyResult = { released: 0, held: 0, failed: 0 };
      for (const imageId of await batchImageIds(input)) {
        const signal = Context.current().cancellationSignal;
        if (signal.aborted) throw signal.reason ?? new Error('deidentify activity cancelled');
        const outcome = await deidentifyImage(input, imageId, secret);
        if (outcome !== 'done') result[outcome] += 1;
        heartbeat({ imageId });
      }
      return result;
    },

    /** Totals the de-identification outcomes of a delivery's images, including earlier runs. */
    async deidentifySummary(ref: DeliveryRef): Promise<DeidentifyResult> {
      const result = await db.execute<{ status: string; images: number }>(sql`
        select d.status, count(*)::int as images
        from deid_images d
        where d.image_id in (
          select image_id from delivery_files
          where delivery_id = ${ref.deliveryId} and status in ('imported', 'duplicate')
        )
        group by d.status
      `);
      const summary: DeidentifyResult = { released: 0, held: 0, failed: 0 };
      for (const row of rowsOf<{ status: string; images: number }>(result)) {
        if (row.status === 'released') summary.released = Number(row.images);
        if (row.status === 'held') summary.held = Number(row.images);
        if (row.status === 'failed') summary.failed = Number(row.images);
      }
      return summary;
    },
  };
}
