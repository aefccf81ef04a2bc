import { eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { recordMessage } from '../db/messages';
import { deliveryFiles } from '../db/schema';
import type { FileReadError } from './read-file';

/** One row of `delivery_files` still to import. */
export interface PendingFile {
  id: number;
  relativePath: string;
  size: number;
  attempts: number;
}

export interface FileScope {
  batchId: number;
  deliveryId: number;
}

/** Marks a file skipped (not importable) and records a warning naming it and the reason. */
export async function markSkipped(db: Database, scope: FileScope, file: PendingFile, reason: string) {
  await db
    .update(deliveryFiles)
    .set({ status: 'skipped', reason, updatedAt: new Date() })
    .where(eq(deliveryFiles.id, file.id));
  await recordMessage(db, {
    ...scope,
    level: 'warning',
    code: 'skipped',
    path: file.relativePath,
    message: `${file.relativePath}: skipped: ${reason}`,
  });
}

/**
 * Marks a file failed for good and records an error naming it. A failed file stays in the source
 * folder, which is then renamed `<name>.err`.
 */
export async function markFailed(db: Database, scope: FileScope, file: PendingFile, reason: string) {
  await db
    .update(deliveryFiles)
    .set({ status: 'failed', reason, updatedAt: new Date() })
    .where(eq(deliveryFiles.id, file.id));
  await recordMessage(db, {
    ...scope,
    level: 'error',
    code: 'failed',
    path: file.relativePath,
    message: `${file.relativePath}: ${reason}`,
  });
}

/**
 * Counts one failed read of a file. Returns `failed` once `maxAttempts` reads have failed, else
 * `retry`, with the size seen at this read stored so the next attempt expects it.
 */
export async function recordReadFailure(
  db: Database,
  scope: FileScope,
  file: PendingFile,
  error: FileReadError,
  maxAttempts: number,
): Promise<'failed' | 'retry'> {
  const attempts = file.attempts + 1;
  const final = attempts >= maxAttempts;
  await db
    .update(deliveryFiles)
    .set({
      attempts,
      reason: error.message,
      status: final ? 'failed' : 'pending',
      size: error.observedSize ?? file.size,
      updatedAt: new Date(),
    })
    .where(eq(deliveryFiles.id, file.id));
  if (!final) return 'retry';
  await recordMessage(db, {
    ...scope,
    level: 'error',
    code: 'failed',
    path: file.relativePath,
    message: `${error.message} (after ${attempts} attempts)`,
  });
  return 'failed';
}
