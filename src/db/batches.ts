import { desc, eq } from 'drizzle-orm';
import type { Database } from './client';
import { batches, batchMessages } from './schema';

export type BatchRow = typeof batches.$inferSelect;

export async function listBatches(db: Database): Promise<BatchRow[]> {
  return db.select().from(batches).orderBy(desc(batches.createdAt), desc(batches.id));
}

export async function findBatch(db: Database, name: string): Promise<BatchRow | undefined> {
  const [row] = await db.select().from(batches).where(eq(batches.name, name));
  return row;
}

export async function recentMessages(db: Database, batchId: number, limit = 20) {
  return db
    .select()
    .from(batchMessages)
    .where(eq(batchMessages.batchId, batchId))
    .orderBy(desc(batchMessages.id))
    .limit(limit);
}

/** The JSON shape of one batch in `list --json`. */
export function batchSummary(row: BatchRow) {
  return {
    name: row.name,
    status: row.status,
    hasError: row.hasError,
    fileCount: row.fileCount,
    imageCount: row.imageCount,
    seriesCount: row.seriesCount,
    studyCount: row.studyCount,
    byteCount: row.byteCount,
    warningCount: row.warningCount,
    errorCount: row.errorCount,
    duplicateCount: row.duplicateCount,
    conflictCount: row.conflictCount,
    skippedCount: row.skippedCount,
    failedCount: row.failedCount,
    deidentifiedCount: row.deidentifiedCount,
    heldBackCount: row.heldBackCount,
    firstStudyDate: row.firstStudyDate,
    lastStudyDate: row.lastStudyDate,
    deliveryCount: row.deliveryCount,
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
    durationMs: row.durationMs,
    workflowId: row.workflowId,
  };
}
