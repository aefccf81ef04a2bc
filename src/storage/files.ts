import fs from 'node:fs/promises';
import path from 'node:path';
import { tempFileName } from './temp-files';

export { TEMP_PREFIX } from './temp-files';

/** A DICOM UID is digits and dots, at most 64 characters; anything else never becomes a path. */
const UID_PATTERN = /^[0-9]+(\.[0-9]+)*$/;

/** Returns `uid` when it is safe as a path component, else a name derived from its hash. */
export function uidPathComponent(uid: string, hash: (value: string) => string): string {
  if (uid.length > 0 && uid.length <= 64 && UID_PATTERN.test(uid)) return uid;
  return `invalid-uid-${hash(uid).slice(0, 32)}`;
}

/** A write to media or de-identified storage failed: names the path, the step and the cause. */
export class StorageWriteError extends Error {
  override readonly name = 'StorageWriteError';

  constructor(
    readonly filePath: string,
    readonly step: string,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(`storage ${step} of ${filePath} failed: ${(cause as Error).message}`, { cause });
  }
}

export function storageError(filePath: string, step: string, error: unknown): StorageWriteError {
  return new StorageWriteError(filePath, step, (error as NodeJS.ErrnoException).code, error);
}

/**
 * Writes `bytes` to a new temporary file in the folder of `finalPath` and flushes it to disk.
 * Returns the temporary path; the caller renames it into place or removes it. On failure nothing
 * is left behind and StorageWriteError names the file and the cause (ENOSPC, EROFS ...).
 */
export async function writeTempFile(finalPath: string, bytes: Uint8Array): Promise<string> {
  const dir = path.dirname(finalPath);
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (error) {
    throw storageError(dir, 'mkdir', error);
  }
  const tempPath = path.join(dir, tempFileName());
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(tempPath, 'wx', 0o644);
  } catch (error) {
    throw storageError(finalPath, 'open', error);
  }
  try {
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
  } catch (error) {
    // The write error is the one to report; a failing close after it adds nothing.
    await handle.close().catch(() => undefined);
    await removeQuietly(tempPath);
    throw storageError(finalPath, 'write', error);
  }
  return tempPath;
}

/** Renames a flushed temporary file to its final name and flushes the folder entry. */
export async function commitTempFile(tempPath: string, finalPath: string): Promise<void> {
  try {
    await fs.mkdir(path.dirname(finalPath), { recursive: true });
    await fs.rename(tempPath, finalPath);
    await syncDirectory(path.dirname(finalPath));
  } catch (error) {
    throw storageError(finalPath, 'rename', error);
  }
}

/** Writes `bytes` to `finalPath` atomically: temporary name, flush, rename, folder flush. */
export async function writeFileAtomic(finalPath: string, bytes: Uint8Array): Promise<void> {
  const tempPath = await writeTempFile(finalPath, bytes);
  try {
    await commitTempFile(tempPath, finalPath);
  } catch (error) {
    await removeQuietly(tempPath);
    throw error;
  }
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes a file that may not exist; other errors propagate. */
export async function removeQuietly(filePath: string): Promise<void> {
  try {
    await fs.unlink(filePath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
