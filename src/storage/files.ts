import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Prefix of every temporary file the product writes next to its final name. */
export const TEMP_PREFIX = '.dicom-import-';

/** A DICOM UID is digits and dots, at most 64 characters; anything else never becomes a path. */
const UID_PATTERN = /^[0-9]+(\.[0-9]+)*$/;

/** Returns `uid` when it is safe as a path component, else a name derived from its hash. */
export function uidPathComponent(uid: string, hash: (value: string) => string): string {
  if (uid.length > 0 && uid.length <= 64 && UID_PATTERN.test(uid)) return uid;
  return `invalid-uid-${hash(uid).slice(0, 32)}`;
}

/**
 * Writes `bytes` to a new temporary file in the folder of `finalPath` and flushes it to disk.
 * Returns the temporary path; the caller renames it into place or removes it.
 */
export async function writeTempFile(finalPath: string, bytes: Uint8Array): Promise<string> {
  const dir = path.dirname(finalPath);
  await fs.mkdir(dir, { recursive: true });
  const tempPath = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}.tmp`);
  const handle = await fs.open(tempPath, 'wx', 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await removeQuietly(tempPath);
    throw error;
  }
  await handle.close();
  return tempPath;
}

/** Renames a flushed temporary file to its final name and flushes the folder entry. */
export async function commitTempFile(tempPath: string, finalPath: string): Promise<void> {
  await fs.mkdir(path.dirname(finalPath), { recursive: true });
  await fs.rename(tempPath, finalPath);
  await syncDirectory(path.dirname(finalPath));
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
