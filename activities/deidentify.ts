import path from 'node:path';
import { Context, heartbeat, log } from '@temporalio/activity';
import { eq, sql } from 'drizzle-orm';
import { recordMessage } from '../src/db/messages';
import { batches, deidImages } from '../src/db/schema';
import {
  type PageImage,
  batchIdentifiers,
  deliveryImagePage,
} from '../src/deid/batch-identifiers';
import { burnedInReason } from '../src/deid/burned-in';
import { ImageBuffers } from '../src/deid/image-buffers';
import {
  deidentify,
  dropOwnValues,
  readSourceImage,
  type SourceImage,
} from '../src/deid/deidentify';
import type { Identifiers } from '../src/deid/identifiers';
import { type PatientPseudonym, pseudonymFor, uidSecret } from '../src/deid/patients';
import { loadDeidProfile } from '../src/deid/profile-config';
import { releaseVerified } from '../src/deid/release';
import { sha256Hex } from '../src/importer/store-image';
import type { DeidentifyChunkInput, DeidentifyResult, DeliveryRef } from '../workflows/types';
import { rowsOf } from './batch';
import type { ActivityDeps } from './deps';

type Outcome = keyof DeidentifyResult | 'done';

/** State shared by the images of one activity run, which is one page. */
interface PageRun {
  ref: DeliveryRef;
  secret: Buffer;
  batch: Identifiers;
  /** Pseudonyms looked up in this run, keyed by PatientID and IssuerOfPatientID. */
  patients: Map<string, PatientPseudonym>;
  /** Rows of released images whose files are in place, inserted together. */
  released: (typeof deidImages.$inferInsert)[];
  /** Memory for the copies of the image in hand, reused by the next image of the page. */
  buffers: ImageBuffers;
}

interface ImageRun extends PageRun {
  image: PageImage['image'];
}

/** Rows per insert statement, well below the limit of 65535 bind parameters. */
const INSERT_ROWS = 1000;

export function deidentifyActivities({ db, config }: ActivityDeps) {
  // Read once per worker, so an invalid profile stops the worker at start with the file's name.
  const profile = loadDeidProfile(config.deidProfileFile);

  async function patientOf(
    page: PageRun,
    PatientID: string,
    IssuerOfPatientID: string,
  ): Promise<PatientPseudonym> {
    const key = JSON.stringify([PatientID, IssuerOfPatientID]);
    const cached = page.patients.get(key);
    if (cached) return cached;
    const patient = await pseudonymFor(db, PatientID, IssuerOfPatientID, config.dateShiftMaxDays);
    page.patients.set(key, patient);
    return patient;
  }

  async function deidentifyImage(page: PageRun, item: PageImage): Promise<Outcome> {
    const { image, PatientID, done } = item;
    if (done) return 'done';
    const run: ImageRun = { ...page, image };

    const bytes = await page.buffers.readFile('source', path.join(config.mediaDir, image.mediaPath));
    if (sha256Hex(bytes) !== image.sha256) {
      return fail(run, null, `media copy ${image.mediaPath} no longer matches its SHA-256`);
    }
    let source: SourceImage;
    try {
      source = readSourceImage(bytes);
    } catch (error) {
      return fail(run, null, `media copy ${image.mediaPath}: ${(error as Error).message}`);
    }
    const patient = await patientOf(page, PatientID, source.IssuerOfPatientID);

    const burnedIn = burnedInReason(source, profile);
    if (burnedIn !== undefined) {
      await hold(run, patient.id, burnedIn, 'warning', 'held-back');
      return 'held';
    }
    return writeOutput(run, source, patient);
  }

  /** Inserts the rows of released images, whose files are already in place. */
  async function insertReleased(page: PageRun): Promise<void> {
    while (page.released.length > 0) {
      const rows = page.released.splice(0, INSERT_ROWS);
      await db.insert(deidImages).values(rows).onConflictDoNothing();
    }
  }

  async function writeOutput(
    run: ImageRun,
    source: SourceImage,
    patient: PatientPseudonym,
  ): Promise<Outcome> {
    let output;
    try {
      output = deidentify(source, {
        uidSecret: run.secret,
        patientPseudonym: patient.pseudonym,
        dateOffsetDays: patient.dateOffsetDays,
        profile,
        allocateOutput: (length) => run.buffers.take('output', length),
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
    const release = await releaseVerified(
      finalPath,
      output.bytes,
      [output.identifiers, run.batch],
      (file) => run.buffers.readFile('check', file),
    );
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

    run.released.push({
      imageId: run.image.id,
      batchId: run.ref.batchId,
      patientId: patient.id,
      status: 'released',
      path: relative,
      SOPInstanceUID: output.SOPInstanceUID,
      size: output.bytes.length,
      sha256: sha256Hex(output.bytes),
    });
    return 'released';
  }

  async function insertUnreleased(
    run: ImageRun,
    patientId: number | null,
    status: 'held' | 'failed',
    reason: string,
  ): Promise<void> {
    await db
      .insert(deidImages)
      .values({ imageId: run.image.id, batchId: run.ref.batchId, patientId, status, reason })
      .onConflictDoNothing();
  }

  async function hold(
    run: ImageRun,
    patientId: number,
    reason: string,
    level: 'warning' | 'error',
    code: string,
  ): Promise<void> {
    await insertUnreleased(run, patientId, 'held', reason);
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
    await insertUnreleased(run, patientId, 'failed', reason);
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
      const page: PageRun = {
        ref: input,
        secret: await uidSecret(db, config.deidSecret),
        batch: await batchIdentifiers(db, input.deliveryId),
        patients: new Map(),
        released: [],
        buffers: new ImageBuffers(),
      };
      const result: DeidentifyResult = { released: 0, held: 0, failed: 0 };
      try {
        for (const item of await deliveryImagePage(db, input)) {
          const signal = Context.current().cancellationSignal;
          if (signal.aborted) throw signal.reason ?? new Error('deidentify activity cancelled');
          const outcome = await deidentifyImage(page, item);
          if (outcome !== 'done') result[outcome] += 1;
          heartbeat({ imageId: item.image.id });
        }
      } catch (error) {
        // The released files are in place: record them, so a retry leaves them as they are.
        await insertReleased(page).catch((insertError: unknown) => {
          const where = `delivery ${input.deliveryId} at offset ${input.offset}`;
          const reason = `de-identifying ${where} failed, and so did recording its released images`;
          throw new AggregateError([error, insertError], reason);
        });
        throw error;
      }
      await insertReleased(page);
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
