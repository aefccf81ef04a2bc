import fs from 'node:fs/promises';
import path from 'node:path';
import { log } from '@temporalio/activity';
import { and, asc, count, eq } from 'drizzle-orm';
import { batchMessages, deliveryFiles } from '../src/db/schema';
import type { DeliveryRef, FailedFilesResult, ResetFailedFilesResult } from '../workflows/types';
import type { ActivityDeps } from './deps';

const failedOf = (deliveryId: number) =>
  and(eq(deliveryFiles.deliveryId, deliveryId), eq(deliveryFiles.status, 'failed'));

export function opsActivities({ db }: ActivityDeps) {
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
     */
    async resetFailedFiles(
      input: DeliveryRef & { folderPath: string },
    ): Promise<ResetFailedFilesResult> {
      const failed = await db
        .select({
          id: deliveryFiles.id,
          relativePath: deliveryFiles.relativePath,
          size: deliveryFiles.size,
        })
        .from(deliveryFiles)
        .where(failedOf(input.deliveryId));
      const ordinals: number[] = [];
      for (const file of failed) {
        const size = (await currentSize(path.join(input.folderPath, file.relativePath))) ?? file.size;
        const [reset] = await db
          .update(deliveryFiles)
          .set({ status: 'pending', attempts: 0, size, updatedAt: new Date() })
          .where(and(eq(deliveryFiles.id, file.id), eq(deliveryFiles.status, 'failed')))
          .returning({ ordinal: deliveryFiles.ordinal });
        if (!reset) continue;
        ordinals.push(reset.ordinal);
        await db
          .delete(batchMessages)
          .where(
            and(
              eq(batchMessages.deliveryId, input.deliveryId),
              eq(batchMessages.code, 'failed'),
              eq(batchMessages.path, file.relativePath),
            ),
          );
      }
      ordinals.sort((a, b) => a - b);
      log.info('failed files set back to pending', {
        deliveryId: input.deliveryId,
        files: ordinals.length,
      });
      return { ordinals };
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
