import path from 'node:path';
import { Context, heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { eq, sql } from 'drizzle-orm';
import type { Database } from '../src/db/client';
import { recordMessage } from '../src/db/messages';
import { batches, deidImages } from '../src/db/schema';
import {
  type PageImage,
  batchIdentifiers,
  pageImagesByIds,
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
import type {
  DeidentifyChunkInput,
  DeidentifyPageBoundsInput,
  DeidentifyPageInput,
  DeidentifyResult,
  DeliveryRef,
} from '../workflows/types';
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
  /** Pseudonyms whose values are already dropped from `batch`. */
  droppedPseudonyms: Set<string>;
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

/** Deliveries whose identifiers a worker keeps, and for how long. */
const CACHED_DELIVERIES = 4;
const CACHE_TTL_MS = 10 * 60_000;

/** The identifiers of the last few deliveries de-identified, each kept for CACHE_TTL_MS. */
class BatchIdentifierCache {
  private readonly entries = new Map<number, { identifiers: Identifiers; storedAt: number }>();

  get(deliveryId: number): Identifiers | undefined {
    const entry = this.entries.get(deliveryId);
    if (!entry || Date.now() - entry.storedAt > CACHE_TTL_MS) return undefined;
    return entry.identifiers;
  }

  set(deliveryId: number, identifiers: Identifiers): void {
    this.entries.delete(deliveryId);
    this.entries.set(deliveryId, { identifiers, storedAt: Date.now() });
    for (const key of this.entries.keys()) {
      if (this.entries.size <= CACHED_DELIVERIES) break;
      this.entries.delete(key);
    }
  }
}

/** Copies the maps that `dropOwnValues` changes; the UID and date sets are only read, and shared. */
function copyIdentifiers(identifiers: Identifiers): Identifiers {
  return {
    values: new Map(identifiers.values),
    nameParts: new Map(identifiers.nameParts),
    uids: identifiers.uids,
    dates: identifiers.dates,
  };
}

/** Image ids a page-bounds call reads at most: pageSize times pages. */
const MAX_BOUNDS_IMAGES = 100_000;

/** Reads the `image_id` column of query rows as numbers, in row order. */
function imageIdsOf(result: unknown): number[] {
  return rowsOf<{ image_id: number | string }>(result).map((row) => Number(row.image_id));
}

/**
 * Reads the images of a delivery with `afterImageId < id <= throughImageId`, with their study's
 * PatientID and whether a deid_images row exists. The range is scanned through the
 * `delivery_files_delivery_image` index, so a page costs the same at any delivery size.
 */
async function imagePageByKey(db: Database, page: DeidentifyPageInput): Promise<PageImage[]> {
  const ids = imageIdsOf(
    await db.execute(sql`
      select distinct image_id from delivery_files
      where delivery_id = ${page.deliveryId} and status in ('imported', 'duplicate')
        and image_id > ${page.afterImageId} and image_id <= ${page.throughImageId}
      order by image_id
    `),
  );
  return pageImagesByIds(db, page.deliveryId, ids);
}

function describePage(input: DeidentifyChunkInput): string {
  if ('offset' in input) return `delivery ${input.deliveryId} at offset ${input.offset}`;
  return `delivery ${input.deliveryId}, images with id ${input.afterImageId + 1} to ${input.throughImageId}`;
}

export function deidentifyActivities({ db, config }: ActivityDeps) {
  // Read once per worker, so an invalid profile stops the worker at start with the file's name.
  const profile = loadDeidProfile(config.deidProfileFile);
  const identifierCache = new BatchIdentifierCache();

  /**
   * Returns a copy of the delivery's identifiers, which each page may change. The database is read
   * once per delivery and worker: the deidentify workflow runs after the batch is closed, and a
   * closed delivery gets no more images.
   */
  async function deliveryIdentifiers(deliveryId: number): Promise<Identifiers> {
    let identifiers = identifierCache.get(deliveryId);
    if (!identifiers) {
      identifiers = await batchIdentifiers(db, deliveryId);
      identifierCache.set(deliveryId, identifiers);
    }
    return copyIdentifiers(identifiers);
  }

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
    if (!run.droppedPseudonyms.has(patient.pseudonym)) {
      dropOwnValues(run.batch, patient.pseudonym);
      run.droppedPseudonyms.add(patient.pseudonym);
    }
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
    /**
     * Reads up to `pageSize * pages` image ids of a delivery after `afterImageId` and returns the
     * last id of each page of `pageSize` images. Fewer bounds than pages mean that the delivery
     * has no further images.
     */
    async deidentifyPageBounds(input: DeidentifyPageBoundsInput): Promise<number[]> {
      const { pageSize, pages } = input;
      const valid = [pageSize, pages].every((value) => Number.isInteger(value) && value > 0);
      if (!valid || pageSize * pages > MAX_BOUNDS_IMAGES) {
        throw ApplicationFailure.nonRetryable(
          `deidentifyPageBounds: pageSize ${pageSize} and pages ${pages} must be positive ` +
            `integers with a product of at most ${MAX_BOUNDS_IMAGES}`,
          'InvalidInput',
        );
      }
      const ids = imageIdsOf(
        await db.execute(sql`
          select distinct image_id from delivery_files
          where delivery_id = ${input.deliveryId} and status in ('imported', 'duplicate')
            and image_id > ${input.afterImageId}
          order by image_id
          limit ${pageSize * pages}
        `),
      );
      const bounds: number[] = [];
      for (let end = pageSize; end < ids.length + pageSize; end += pageSize) {
        bounds.push(ids[Math.min(end, ids.length) - 1] as number);
      }
      return bounds;
    },

    /** Counts the images of a delivery; only executions started before keyed pages call it. */
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
        batch: await deliveryIdentifiers(input.deliveryId),
        patients: new Map(),
        droppedPseudonyms: new Set(),
        released: [],
        buffers: new ImageBuffers(),
      };
      const result: DeidentifyResult = { released: 0, held: 0, failed: 0 };
      try {
        const items =
          'offset' in input ? await deliveryImagePage(db, input) : await imagePageByKey(db, input);
        for (const item of items) {
          const signal = Context.current().cancellationSignal;
          if (signal.aborted) throw signal.reason ?? new Error('deidentify activity cancelled');
          const outcome = await deidentifyImage(page, item);
          if (outcome !== 'done') result[outcome] += 1;
          heartbeat({ imageId: item.image.id });
        }
      } catch (error) {
        // The released files are in place: record them, so a retry leaves them as they are.
        await insertReleased(page).catch((insertError: unknown) => {
          const reason =
            `de-identifying ${describePage(input)} failed, ` +
            'and so did recording its released images';
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
