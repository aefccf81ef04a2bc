import path from 'node:path';
import { Context, heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { and, asc, eq, gte, lt, sql } from 'drizzle-orm';
import { recordMessage } from '../src/db/messages';
import { deliveryFiles } from '../src/db/schema';
import { parseDicom } from '../src/dicom/parse';
import type { ParseResult } from '../src/dicom/types';
import {
  type PendingFile,
  markFailed,
  markSkipped,
  recordReadFailure,
} from '../src/importer/file-status';
import { BufferPool } from '../src/importer/buffer-pool';
import { absolutePathOf } from '../src/importer/names';
import { isDataRejection, redactQueryError } from '../src/importer/query-errors';
import { FileReadError, readRegularFile } from '../src/importer/read-file';
import { type GroupOutcome, storeImageGroup } from '../src/importer/store-group';
import {
  type StoreImageInput,
  type StoreImageOutcome,
  mediaRelativePath,
  withoutNul,
} from '../src/importer/store-image';
import { StorageWriteError } from '../src/storage/files';
import type { ImportChunkInput, ImportChunkResult } from '../workflows/types';
import type { ActivityDeps } from './deps';

type Outcome = keyof ImportChunkResult | 'retry';

export function importFilesActivities({ db, config }: ActivityDeps) {
  /**
   * Reads and parses one pending file. Returns the image to store, or the file's outcome when it
   * was skipped or failed, or `retry` when it could not be read this time.
   */
  async function prepareOne(
    input: ImportChunkInput,
    file: PendingFile,
    pool: BufferPool,
  ): Promise<StoreImageInput | Outcome> {
    const absolute = absolutePathOf(input.folderPath, file.relativePath);
    let bytes: Buffer;
    try {
      bytes = await readRegularFile(absolute, file.relativePath, file.size, pool);
    } catch (error) {
      if (!(error instanceof FileReadError)) throw error;
      const outcome = await recordReadFailure(db, input, file, error, config.fileMaxAttempts);
      const meta = { deliveryId: input.deliveryId, fileId: file.id, error: error.message };
      if (outcome === 'retry') log.warn('file read failed, will retry', meta);
      else log.error('file failed', meta);
      return outcome;
    }

    let parsed: ParseResult;
    try {
      parsed = parseDicom(bytes);
    } catch (error) {
      pool.release(bytes);
      // A fault of the parser, not of the file alone: the file is kept for a person to look at.
      await markFailed(db, input, file, `parser error: ${(error as Error).message}`);
      log.error('parser failed', { deliveryId: input.deliveryId, fileId: file.id, error: String(error) });
      return 'failed';
    }
    if (parsed.outcome === 'skip') {
      pool.release(bytes);
      await markSkipped(db, input, file, parsed.reason);
      log.warn('file skipped', { deliveryId: input.deliveryId, fileId: file.id, reason: parsed.reason });
      return 'skipped';
    }

    return {
      mediaDir: config.mediaDir,
      batchId: input.batchId,
      fileId: file.id,
      relativePath: file.relativePath,
      bytes,
      encoding: parsed.encoding,
      header: parsed.values,
    };
  }

  /**
   * Names the source file whose media copy failed, or the group's first file when the failed path
   * is a folder, so that ops see which file the retrying activity is stuck on.
   */
  function groupStorageFailure(
    group: Array<{ file: PendingFile; image: StoreImageInput }>,
    error: StorageWriteError,
  ): ApplicationFailure {
    const failed = group.find(
      ({ image }) => path.join(image.mediaDir, mediaRelativePath(withoutNul(image.header))) === error.filePath,
    );
    const named = failed ?? group[0];
    const scope = failed || group.length === 1 ? '' : ` (one of a group of ${group.length} files)`;
    return ApplicationFailure.retryable(
      `${named?.file.relativePath}: media storage write failed${scope}: ${error.message}`,
      'StorageWriteError',
    );
  }

  /** Stores a group of parsed files and counts each file's outcome into `result`. */
  async function storeGroup(
    input: ImportChunkInput,
    group: Array<{ file: PendingFile; image: StoreImageInput }>,
    result: ImportChunkResult,
    pool: BufferPool,
  ): Promise<void> {
    let outcomes: GroupOutcome[];
    try {
      outcomes = await storeImageGroup(
        db,
        group.map((entry) => entry.image),
      );
    } catch (error) {
      if (error instanceof StorageWriteError) throw groupStorageFailure(group, error);
      throw error;
    }
    for (const [index, { file }] of group.entries()) {
      const stored = outcomes[index] as GroupOutcome;
      const outcome = stored.ok
        ? await reportStored(input, file, stored.outcome)
        : await storeFailed(input, file, stored.error);
      result[outcome as keyof ImportChunkResult] += 1;
    }
    for (const { image } of group) pool.release(image.bytes);
  }

  /**
   * A value the database rejects fails the file for good; a storage or connection fault fails the
   * activity, whose retry policy takes over.
   */
  async function storeFailed(input: ImportChunkInput, file: PendingFile, error: unknown): Promise<Outcome> {
    if (error instanceof StorageWriteError) {
      throw ApplicationFailure.retryable(
        `${file.relativePath}: media storage write failed: ${error.message}`,
        'StorageWriteError',
      );
    }
    const redacted = redactQueryError(error) as Error;
    if (!isDataRejection(error)) throw redacted;
    await markFailed(db, input, file, `database rejected the image: ${redacted.message}`);
    log.error('image rejected by the database', { deliveryId: input.deliveryId, fileId: file.id });
    return 'failed';
  }

  async function reportStored(
    input: ImportChunkInput,
    file: PendingFile,
    outcome: StoreImageOutcome,
  ): Promise<Outcome> {
    if (outcome.kind === 'imported') return 'imported';
    const scope = { batchId: input.batchId, deliveryId: input.deliveryId, path: file.relativePath };

    if (outcome.kind === 'conflict') {
      await recordMessage(db, {
        ...scope,
        level: 'warning',
        code: 'conflict',
        message:
          `${file.relativePath}: SOPInstanceUID already stored with other bytes ` +
          `(from ${outcome.existingSourcePath}); this copy is kept aside as ${outcome.keptPath}`,
      });
      log.warn('conflicting image kept aside', { deliveryId: input.deliveryId, fileId: file.id });
      return 'conflicts';
    }

    if (outcome.existingBatchId === input.batchId && (await sameDelivery(input, outcome.imageId, file.id))) {
      await recordMessage(db, {
        ...scope,
        level: 'warning',
        code: 'duplicate',
        message:
          `${file.relativePath}: same SOPInstanceUID and bytes as ${outcome.existingSourcePath} ` +
          'in this folder; stored once',
      });
    }
    return 'duplicates';
  }

  /** True when another file of this delivery already stored the image. */
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

  async function pendingFiles(input: ImportChunkInput): Promise<PendingFile[]> {
    return db
      .select({
        id: deliveryFiles.id,
        relativePath: deliveryFiles.relativePath,
        size: deliveryFiles.size,
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
  }

  async function importChunk(input: ImportChunkInput): Promise<ImportChunkResult> {
    const pending = await pendingFiles(input);
    const result: ImportChunkResult = { imported: 0, duplicates: 0, conflicts: 0, skipped: 0, failed: 0 };
    const retry: string[] = [];
    let group: Array<{ file: PendingFile; image: StoreImageInput }> = [];
    let groupBytes = 0;
    // One buffer per file of a full group, plus the one being read.
    const pool = new BufferPool(config.importGroupFiles + 1);
    for (const file of pending) {
      const signal = Context.current().cancellationSignal;
      if (signal.aborted) throw signal.reason ?? new Error('import activity cancelled');
      const prepared = await prepareOne(input, file, pool);
      if (prepared === 'retry') retry.push(file.relativePath);
      else if (typeof prepared === 'string') result[prepared] += 1;
      else {
        group.push({ file, image: prepared });
        groupBytes += prepared.bytes.length;
      }
      if (group.length >= config.importGroupFiles || groupBytes >= config.importGroupBytes) {
        await storeGroup(input, group, result, pool);
        group = [];
        groupBytes = 0;
      }
      heartbeat({ fileId: file.id });
    }
    if (group.length > 0) await storeGroup(input, group, result, pool);
    if (retry.length > 0) {
      throw ApplicationFailure.retryable(
        `${retry.length} file(s) could not be read and will be retried, first: ${retry[0]}`,
        'FileReadRetry',
      );
    }
    return result;
  }

  return {
    /**
     * Imports the pending files of one ordinal range. Files already handled are skipped, so a retry
     * never redoes them. A file that cannot be read is retried with the activity until it has used
     * FILE_MAX_ATTEMPTS; database and media storage faults fail the activity and its retry policy
     * takes over. Failures never carry query parameters, which hold header values.
     */
    async importFiles(input: ImportChunkInput): Promise<ImportChunkResult> {
      try {
        return await importChunk(input);
      } catch (error) {
        throw redactQueryError(error);
      }
    },
  };
}
