import path from 'node:path';
import { Context, heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { and, asc, eq, gte, lt, sql } from 'drizzle-orm';
import { recordMessage } from '../src/db/messages';
import { deliveryFiles } from '../src/db/schema';
import { parseDicom } from '../src/dicom/parse';
import { FileReadError, readRegularFile } from '../src/importer/read-file';
import { storeImage } from '../src/importer/store-image';
import type { ImportChunkInput, ImportChunkResult } from '../workflows/types';
import type { ActivityDeps } from './deps';

type PendingFile = { id: number; relativePath: string; attempts: number };

export function importFilesActivities({ db, config }: ActivityDeps) {
  /** Imports one pending file; returns the outcome, or `retry` when it could not be read this time. */
  async function importOne(
    input: ImportChunkInput,
    file: PendingFile,
  ): Promise<keyof ImportChunkResult | 'retry'> {
    const absolute = path.join(input.folderPath, file.relativePath);
    let bytes: Buffer;
    try {
      bytes = await readRegularFile(absolute, file.relativePath);
    } catch (error) {
      if (!(error instanceof FileReadError)) throw error;
      return recordReadFailure(input, file, error);
    }

    const parsed = parseDicom(bytes);
    if (parsed.outcome === 'skip') {
      await db
        .update(deliveryFiles)
        .set({ status: 'skipped', reason: parsed.reason, updatedAt: new Date() })
        .where(eq(deliveryFiles.id, file.id));
      await recordMessage(db, {
        batchId: input.batchId,
        deliveryId: input.deliveryId,
        level: 'warning',
        code: 'skipped',
        path: file.relativePath,
        message: `${file.relativePath}: skipped: ${parsed.reason}`,
      });
      log.warn('file skipped', { deliveryId: input.deliveryId, fileId: file.id, reason: parsed.reason });
      return 'skipped';
    }

    const outcome = await storeImage(db, {
      mediaDir: config.mediaDir,
      batchId: input.batchId,
      fileId: file.id,
      relativePath: file.relativePath,
      bytes,
      encoding: parsed.encoding,
      header: parsed.values,
    });
    if (outcome.kind === 'imported') return 'imported';

    if (outcome.kind === 'conflict') {
      await recordMessage(db, {
        batchId: input.batchId,
        deliveryId: input.deliveryId,
        level: 'warning',
        code: 'conflict',
        path: file.relativePath,
        message:
          `${file.relativePath}: SOPInstanceUID already stored with other bytes ` +
          `(from ${outcome.existingSourcePath}); this copy is kept aside as ${outcome.keptPath}`,
      });
      log.warn('conflicting image kept aside', { deliveryId: input.deliveryId, fileId: file.id });
      return 'conflicts';
    }

    if (outcome.existingBatchId === input.batchId && (await sameDelivery(input, outcome.imageId, file.id))) {
      await recordMessage(db, {
        batchId: input.batchId,
        deliveryId: input.deliveryId,
        level: 'warning',
        code: 'duplicate',
        path: file.relativePath,
        message:
          `${file.relativePath}: same SOPInstanceUID and bytes as ${outcome.existingSourcePath} ` +
          'in this folder; stored once',
      });
    }
    return 'duplicates';
  }

  /** True when another file of this delivery already holds the image. */
  async function sameDelivery(input: ImportChunkInput, imageId: number, fileId: number) {
    const [other] = await db
      .select({ id: deliveryFiles.id })
      .from(deliveryFiles)
      .where(
        and(
          eq(deliveryFiles.deliveryId, input.deliveryId),
          eq(deliveryFiles.imageId, imageId),
          sql`${deliveryFiles.id} <> ${fileId}`,
        ),
      )
      .limit(1);
    return other !== undefined;
  }

  async function recordReadFailure(
    input: ImportChunkInput,
    file: PendingFile,
    error: FileReadError,
  ): Promise<'failed' | 'retry'> {
    const attempts = file.attempts + 1;
    const final = attempts >= config.fileMaxAttempts;
    await db
      .update(deliveryFiles)
      .set({
        attempts,
        reason: error.message,
        status: final ? 'failed' : 'pending',
        updatedAt: new Date(),
      })
      .where(eq(deliveryFiles.id, file.id));
    if (!final) {
      log.warn('file read failed, will retry', { fileId: file.id, attempts, error: error.message });
      return 'retry';
    }
    await recordMessage(db, {
      batchId: input.batchId,
      deliveryId: input.deliveryId,
      level: 'error',
      code: 'failed',
      path: file.relativePath,
      message: `${error.message} (after ${attempts} attempts)`,
    });
    log.error('file failed', { fileId: file.id, attempts, error: error.message });
    return 'failed';
  }

  return {
    /**
     * Imports the pending files of one ordinal range. Files already handled are skipped, so a retry
     * never redoes them. A file that cannot be read is retried with the activity until it has used
     * FILE_MAX_ATTEMPTS; database and media storage faults fail the activity and its retry policy
     * takes over.
     */
    async importFiles(input: ImportChunkInput): Promise<ImportChunkResult> {
      const pending = await db
        .select({
          id: deliveryFiles.id,
          relativePath: deliveryFiles.relativePath,
          attempts: deliveryFiles.attempts,
        })
        .from(deliveryFiles)
        .where(
          and(
            eq(deliveryFiles.deliveryId, input.deliveryId),
            eq(deliveryFiles.status, 'pending'),
            gte(deliveryFiles.ordinal, input.fromOrdinal),
            lt(deliveryFiles.ordinal, input.toOrdinal),
          ),
        )
        .orderBy(asc(deliveryFiles.ordinal));

      const result: ImportChunkResult = { imported: 0, duplicates: 0, conflicts: 0, skipped: 0, failed: 0 };
      const retry: string[] = [];
      for (const file of pending) {
        const signal = Context.current().cancellationSignal;
        if (signal.aborted) throw signal.reason ?? new Error('import activity cancelled');
        const outcome = await importOne(input, file);
        if (outcome === 'retry') retry.push(file.relativePath);
        else result[outcome] += 1;
        heartbeat({ fileId: file.id });
      }
      if (retry.length > 0) {
        throw ApplicationFailure.retryable(
          `${retry.length} file(s) could not be read and will be retried, first: ${retry[0]}`,
          'FileReadRetry',
        );
      }
      return result;
    },
  };
}
