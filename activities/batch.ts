import { log } from '@temporalio/activity';
import { and, count, eq, sql } from 'drizzle-orm';
import { batches, batchMessages, deliveries, deliveryFiles } from '../src/db/schema';
import type { BatchFigures, DeidentifyResult, DeliveryRef } from '../workflows/types';
import type { ActivityDeps } from './deps';

export interface BeginDeliveryInput {
  batchName: string;
  folderPath: string;
  /** Same for every attempt and reset of one import, so a retry finds its delivery again. */
  deliveryKey: string;
  workflowId: string;
}

export function batchActivities({ db }: ActivityDeps) {
  return {
    /** Creates or finds the batch and this import's delivery, and marks the batch PROCESSING. */
    async beginDelivery(input: BeginDeliveryInput): Promise<DeliveryRef> {
      return db.transaction(async (tx) => {
        const now = new Date();
        const [batch] = await tx
          .insert(batches)
          .values({ name: input.batchName, status: 'PROCESSING', workflowId: input.workflowId })
          .onConflictDoUpdate({
            target: batches.name,
            set: { status: 'PROCESSING', workflowId: input.workflowId, updatedAt: now },
          })
          .returning({ id: batches.id });
        if (!batch) throw new Error(`batch ${input.batchName} neither inserted nor updated`);

        const [created] = await tx
          .insert(deliveries)
          .values({ batchId: batch.id, key: input.deliveryKey, folderPath: input.folderPath })
          .onConflictDoNothing()
          .returning({ id: deliveries.id });
        if (created) {
          await tx
            .update(batches)
            .set({
              deliveryCount: sql`${batches.deliveryCount} + 1`,
              startedAt: now,
              finishedAt: null,
              importedAt: null,
              durationMs: null,
            })
            .where(eq(batches.id, batch.id));
          log.info('delivery started', { batchId: batch.id, deliveryId: created.id });
          return { batchId: batch.id, deliveryId: created.id };
        }
        const [found] = await tx
          .select({ id: deliveries.id })
          .from(deliveries)
          .where(eq(deliveries.key, input.deliveryKey));
        if (!found) throw new Error(`delivery ${input.deliveryKey} neither inserted nor found`);
        return { batchId: batch.id, deliveryId: found.id };
      });
    },

    /** Computes the batch figures over all its deliveries and stores them; status becomes DEIDENTIFYING or EMPTY. */
    async closeBatch(ref: DeliveryRef): Promise<BatchFigures> {
      const figures = await computeFigures(db, ref);
      const hasError = figures.failedCount > 0 || figures.errorCount > 0;
      const empty = figures.imageCount === 0;
      const status = empty ? (hasError ? 'ERROR' : 'EMPTY') : 'DEIDENTIFYING';
      await db
        .update(batches)
        .set({ ...figures, status, hasError, importedAt: new Date(), updatedAt: new Date() })
        .where(eq(batches.id, ref.batchId));
      log.info('batch closed', { batchId: ref.batchId, status, ...figures });
      return figures;
    },

    /** Sets the final status after de-identification and records the time taken. */
    async finishBatch(input: DeliveryRef & { deidentify?: DeidentifyResult }): Promise<string> {
      const [batch] = await db.select().from(batches).where(eq(batches.id, input.batchId));
      if (!batch) throw new Error(`batch ${input.batchId} not found`);
      const deid = input.deidentify;
      const hasError = batch.hasError || (deid !== undefined && deid.failed > 0);
      let status = batch.status;
      if (status === 'DEIDENTIFYING' || status === 'PROCESSING') status = hasError ? 'ERROR' : 'DONE';
      const finishedAt = new Date();
      const startedAt = batch.startedAt ?? finishedAt;
      await db
        .update(batches)
        .set({
          status,
          hasError,
          deidentifiedCount: deid?.released ?? batch.deidentifiedCount,
          heldBackCount: deid?.held ?? batch.heldBackCount,
          finishedAt,
          durationMs: finishedAt.getTime() - startedAt.getTime(),
          updatedAt: finishedAt,
        })
        .where(eq(batches.id, input.batchId));
      await db
        .update(deliveries)
        .set({ finishedAt })
        .where(eq(deliveries.id, input.deliveryId));
      log.info('batch finished', { batchId: input.batchId, status });
      return status;
    },
  };
}

interface FiguresRow extends Record<string, unknown> {
  image_count: number;
  series_count: number;
  study_count: number;
  byte_count: string | number | null;
  first_study_date: string | null;
  last_study_date: string | null;
}

async function computeFigures(db: ActivityDeps['db'], ref: DeliveryRef): Promise<BatchFigures> {
  const imageFigures = await db.execute<FiguresRow>(sql`
    with batch_images as (
      select distinct f.image_id
      from delivery_files f
      join deliveries d on d.id = f.delivery_id
      where d.batch_id = ${ref.batchId} and f.status in ('imported', 'duplicate')
    )
    select
      count(*)::int as image_count,
      count(distinct i.series_id)::int as series_count,
      count(distinct s.study_id)::int as study_count,
      coalesce(sum(i.size), 0)::bigint as byte_count,
      min(nullif(st.study_date, '')) as first_study_date,
      max(nullif(st.study_date, '')) as last_study_date
    from batch_images b
    join images i on i.id = b.image_id
    join series s on s.id = i.series_id
    join studies st on st.id = s.study_id
  `);
  const row = rowsOf<FiguresRow>(imageFigures)[0];

  const statusCounts = await db
    .select({ status: deliveryFiles.status, files: count() })
    .from(deliveryFiles)
    .where(eq(deliveryFiles.deliveryId, ref.deliveryId))
    .groupBy(deliveryFiles.status);
  const byStatus = new Map(statusCounts.map((entry) => [entry.status, Number(entry.files)]));

  const messageCounts = await db
    .select({ level: batchMessages.level, messages: count() })
    .from(batchMessages)
    .where(
      and(eq(batchMessages.batchId, ref.batchId), eq(batchMessages.deliveryId, ref.deliveryId)),
    )
    .groupBy(batchMessages.level);
  const byLevel = new Map(messageCounts.map((entry) => [entry.level, Number(entry.messages)]));

  const fileCount = [...byStatus.values()].reduce((sum, value) => sum + value, 0);
  return {
    fileCount,
    imageCount: row?.image_count ?? 0,
    seriesCount: row?.series_count ?? 0,
    studyCount: row?.study_count ?? 0,
    byteCount: Number(row?.byte_count ?? 0),
    warningCount: byLevel.get('warning') ?? 0,
    errorCount: byLevel.get('error') ?? 0,
    duplicateCount: byStatus.get('duplicate') ?? 0,
    conflictCount: byStatus.get('conflict') ?? 0,
    skippedCount: byStatus.get('skipped') ?? 0,
    failedCount: (byStatus.get('failed') ?? 0) + (byStatus.get('pending') ?? 0),
    firstStudyDate: row?.first_study_date ?? null,
    lastStudyDate: row?.last_study_date ?? null,
  };
}

/** postgres.js returns rows as the result itself; PGlite returns `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
