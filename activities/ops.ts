import fs from 'node:fs/promises';
import path from 'node:path';
import { heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { and, asc, count, eq, sql } from 'drizzle-orm';
import { batchMessages, deliveryFiles } from '../src/db/schema';
import type {
  DeliveryRef,
  FailedFilesResult,
  PendingChunk,
  PendingChunksInput,
  RequeueFailedFilesResult,
  ResetFailedFilesResult,
} from '../workflows/types';
import { rowsOf } from './batch';
import type { ActivityDeps } from './deps';

const failedOf = (deliveryId: number) =>
  and(eq(deliveryFiles.deliveryId, deliveryId), eq(deliveryFiles.status, 'failed'));

export function opsActivities({ db }: ActivityDeps) {
  /**
   * Sets each failed file of a delivery back to pending with its size on disk now, deletes its
   * `failed` message and passes its ordinal to `onRequeued`. A file that another call set back
   * meanwhile is passed over.
   */
  async function requeueEach(
    input: DeliveryRef & { folderPath: string },
    onRequeued: (ordinal: number) => void,
  ): Promise<void> {
    const failed = await db
      .select({
        id: deliveryFiles.id,
        relativePath: deliveryFiles.relativePath,
        size: deliveryFiles.size,
      })
      .from(deliveryFiles)
      .where(failedOf(input.deliveryId));
    for (const file of failed) {
      const size = (await currentSize(path.join(input.folderPath, file.relativePath))) ?? file.size;
      const [reset] = await db
        .update(deliveryFiles)
        .set({ status: 'pending', attempts: 0, size, updatedAt: new Date() })
        .where(and(eq(deliveryFiles.id, file.id), eq(deliveryFiles.status, 'failed')))
        .returning({ ordinal: deliveryFiles.ordinal });
      if (!reset) continue;
      await db
        .delete(batchMessages)
        .where(
          and(
            eq(batchMessages.deliveryId, input.deliveryId),
            eq(batchMessages.code, 'failed'),
            eq(batchMessages.path, file.relativePath),
          ),
        );
      onRequeued(reset.ordinal);
    }
  }

  return {
    /** Counts the failed files of a delivery and returns the first `limit` of them by ordinal. */
    async failedFiles(input: DeliveryRef & { limit: number }): Promise<FailedFilesResult> {
      const [total] = await db
        .select({ files: count() })
        .from(deliveryFiles)
        .where(failedOf(input.deliveryId));
      const files = await db
        .select({
          ordinal: deliveryFiles.ordinal,
          relativePath: deliveryFiles.relativePath,
          reason: deliveryFiles.reason,
        })
        .from(deliveryFiles)
        .where(failedOf(input.deliveryId))
        .orderBy(asc(deliveryFiles.ordinal))
        .limit(input.limit);
      return { count: Number(total?.files ?? 0), files };
    },

    /**
     * Sets every failed file of a delivery back to pending with no attempts used, so the import
     * activity reads it again. Each file's listed size becomes its size now, because an operator
     * who asks for a retry has usually replaced the file. The file's `failed` error message is
     * deleted too, so a file that imports on the retry leaves the batch without an error. A file
     * that fails again records the message anew. A second call finds nothing failed.
     * Only executions started before `requeueFailedFiles` call it: its result lists every
     * ordinal, which grows with the number of failed files.
     */
    async resetFailedFiles(
      input: DeliveryRef & { folderPath: string },
    ): Promise<ResetFailedFilesResult> {
      const ordinals: number[] = [];
      await requeueEach(input, (ordinal) => ordinals.push(ordinal));
      ordinals.sort((a, b) => a - b);
      log.info('failed files set back to pending', {
        deliveryId: input.deliveryId,
        files: ordinals.length,
      });
      return { ordinals };
    },

    /**
     * Sets every failed file of a delivery back to pending, as `resetFailedFiles` does, and
     * heartbeats after each file. Returns counts only, so the result stays small at any number
     * of failed files; `pendingChunks` then finds the files to import.
     */
    async requeueFailedFiles(
      input: DeliveryRef & { folderPath: string },
    ): Promise<RequeueFailedFilesResult> {
      let requeued = 0;
      await requeueEach(input, (ordinal) => {
        requeued += 1;
        heartbeat({ ordinal });
      });
      const [pending] = await db
        .select({ files: count() })
        .from(deliveryFiles)
        .where(and(eq(deliveryFiles.deliveryId, input.deliveryId), eq(deliveryFiles.status, 'pending')));
      log.info('failed files set back to pending', { deliveryId: input.deliveryId, files: requeued });
      return { requeued, pending: Number(pending?.files ?? 0) };
    },

    /**
     * Lists the chunks of `[fromOrdinal, toOrdinal)` that contain pending files, ascending. The
     * window bounds the rows read through the ordinal index, whatever the number of pending files.
     */
    async pendingChunks(input: PendingChunksInput): Promise<PendingChunk[]> {
      const { chunkSize, fromOrdinal, toOrdinal } = input;
      if (!Number.isInteger(chunkSize) || chunkSize < 1) {
        throw ApplicationFailure.nonRetryable(
          `pendingChunks: chunkSize must be a positive integer, got ${chunkSize}`,
          'InvalidInput',
        );
      }
      const result = await db.execute(sql`
        select (ordinal / ${chunkSize}) * ${chunkSize} as start, min(ordinal) as first,
          count(*)::int as files
        from delivery_files
        where delivery_id = ${input.deliveryId} and status = 'pending'
          and ordinal >= ${fromOrdinal} and ordinal < ${toOrdinal}
        group by 1
        order by 1
      `);
      return rowsOf<Record<keyof PendingChunk, number | string>>(result).map((row) => ({
        start: Number(row.start),
        first: Number(row.first),
        files: Number(row.files),
      }));
    },
  };
}

/** Size of a regular file, or undefined when it is missing or not a regular file. */
async function currentSize(file: string): Promise<number | undefined> {
  try {
    const stat = await fs.lstat(file);
    return stat.isFile() ? stat.size : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: cannot examine before the retry: ${(error as Error).message}`);
  }
}
