import fs from 'node:fs/promises';
import path from 'node:path';
import { Context, heartbeat, log } from '@temporalio/activity';
import { eq, sql } from 'drizzle-orm';
import { recordMessage } from '../src/db/messages';
import { batches, deidImages, images, series, studies } from '../src/db/schema';
import { batchIdentifiers } from '../src/deid/batch-identifiers';
import { burnedInReason } from '../src/deid/burned-in';
import {
  deidentify,
  dropOwnValues,
  readSourceImage,
  type SourceImage,
} from '../src/deid/deidentify';
import type { Identifiers } from '../src/deid/identifiers';
import { pseudonymFor, uidSecret } from '../src/deid/patients';
import { loadDeidProfile } from '../src/deid/profile-config';
import { releaseVerified } from '../src/deid/release';
import { sha256Hex } from '../src/importer/store-image';
import type { DeidentifyChunkInput, DeidentifyResult, DeliveryRef } from '../workflows/types';
import { rowsOf } from './batch';
import type { ActivityDeps } from './deps';

type ImageRow = typeof images.$inferSelect;
type Outcome = keyof DeidentifyResult | 'done';

interface ImageRun {
  ref: DeliveryRef;
  image: ImageRow;
  secret: Buffer;
  batch: Identifiers;
}

export function deidentifyActivities({ db, config }: ActivityDeps) {
  // Read once per worker, so an invalid profile stops the worker at start with the file's name.
  const profile = loadDeidProfile(config.deidProfileFile);

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
    batch: Identifiers,
  ): Promise<Outcome> {
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
    const run: ImageRun = { ref, image: row.image, secret, batch };

    const bytes = await fs.readFile(path.join(config.mediaDir, run.image.mediaPath));
    if (sha256Hex(bytes) !== run.image.sha256) {
      return fail(run, null, `media copy ${run.image.mediaPath} no longer matches its SHA-256`);
    }
    let source: SourceImage;
    try {
      source = readSourceImage(bytes);
    } catch (error) {
      return fail(run, null, `media copy ${run.image.mediaPath}: ${(error as Error).message}`);
    }
    const patient = await pseudonymFor(
      db,
      row.PatientID,
      source.IssuerOfPatientID,
      config.dateShiftMaxDays,
    );

    const burnedIn = burnedInReason(source, profile);
    if (burnedIn !== undefined) {
      await hold(run, patient.id, burnedIn, 'warning', 'held-back');
      return 'held';
    }
    return writeOutput(run, source, patient);
  }

  async function writeOutput(
    run: ImageRun,
    source: SourceImage,
    patient: { id: number; pseudonym: string; dateOffsetDays: number },
  ): Promise<Outcome> {
    let output;
    try {
      output = deidentify(source, {
        uidSecret: run.secret,
        patientPseudonym: patient.pseudonym,
        dateOffsetDays: patient.dateOffsetDays,
        profile,
      });
    } catch (error) {
      return fail(run, patient.id, `de-identification failed: ${(error as Error).message}`);
    }

    const relative = path.join(
      patient.pseudonym,
      output.StudyInstanceUID,
      output.SeriesInstanceUID,
      `${output.SOPInstanceUID}.dcm`,
    );
    dropOwnValues(run.batch, patient.pseudonym);
    dropOwnValues(output.identifiers, patient.pseudonym);
    const finalPath = path.join(config.deidDir, relative);
    const release = await releaseVerified(finalPath, output.bytes, [output.identifiers, run.batch]);
    if (!release.released) {
      const where = release.leaks.map((leak) => `${leak.path} (${leak.kind})`).join(', ');
      const reason = `original identifiers found in the output at ${where}`;
      await hold(run, patient.id, reason, 'error', 'identifier-found');
      await db.update(batches).set({ hasError: true }).where(eq(batches.id, run.ref.batchId));
      log.warn('de-identified output held back: identifiers found', {
        imageId: run.image.id,
        paths: release.leaks.map((leak) => leak.path),
      });
      return 'held';
    }

    await db
      .insert(deidImages)
      .values({
        imageId: run.image.id,
        batchId: run.ref.batchId,
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

  async function hold(
    run: ImageRun,
    patientId: number,
    reason: string,
    level: 'warning' | 'error',
    code: string,
  ): Promise<void> {
    await db
      .insert(deidImages)
      .values({
        imageId: run.image.id,
        batchId: run.ref.batchId,
        patientId,
        status: 'held',
        reason,
      })
      .onConflictDoNothing();
    await recordMessage(db, {
      batchId: run.ref.batchId,
      deliveryId: run.ref.deliveryId,
      level,
      code,
      path: run.image.sourcePath,
      message: `${run.image.sourcePath}: not released, ${reason}`,
    });
  }

  async function fail(run: ImageRun, patientId: number | null, reason: string): Promise<'failed'> {
    await db
      .insert(deidImages)
      .values({
        imageId: run.image.id,
        batchId: run.ref.batchId,
        patientId,
        status: 'failed',
        reason,
      })
      .onConflictDoNothing();
    await recordMessage(db, {
      batchId: run.ref.batchId,
      deliveryId: run.ref.deliveryId,
      level: 'error',
      code: 'deidentify-failed',
      path: run.image.sourcePath,
      message: `${run.image.sourcePath}: ${reason}`,
    });
    // The reason can name media paths, which hold original UIDs, so only the id is logged.
    log.error('de-identification failed', { imageId: run.image.id });
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
     * De-identifies one page of a delivery's images into DEID_DIR, each output scanned for the
     * batch's original identifiers before it gets its final name. Images done before (in this or
     * an earlier batch) are left as they are, so retries and re-deliveries write nothing twice.
     */
    async deidentifyImages(input: DeidentifyChunkInput): Promise<DeidentifyResult> {
      const secret = await uidSecret(db, config.deidSecret);
      const batch = await batchIdentifiers(db, input.deliveryId);
      const result: DeidentifyResult = { released: 0, held: 0, failed: 0 };
      for (const imageId of await batchImageIds(input)) {
        const signal = Context.current().cancellationSignal;
        if (signal.aborted) throw signal.reason ?? new Error('deidentify activity cancelled');
        const outcome = await deidentifyImage(input, imageId, secret, batch);
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
