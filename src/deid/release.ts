import fs from 'node:fs/promises';
import { commitTempFile, removeQuietly, writeTempFile } from '../storage/files';
import { profileVr } from './actions';
import type { Identifiers } from './identifiers';
import { scanOutput, type Leak } from './verify';

export type ReleaseOutcome = { released: true } | { released: false; leaks: Leak[] };

/**
 * Writes a de-identified file under a temporary name, reads it back and scans the bytes on disk for
 * the identifiers. A clean file is renamed into place; a file with a hit is deleted, so nothing
 * unverified ever carries the final name. `readBack` reads the temporary file, by default into a
 * new Buffer.
 */
export async function releaseVerified(
  finalPath: string,
  bytes: Buffer,
  identifiers: readonly Identifiers[],
  readBack: (file: string) => Promise<Buffer> = (file) => fs.readFile(file),
): Promise<ReleaseOutcome> {
  const tempPath = await writeTempFile(finalPath, bytes);
  try {
    const written = await readBack(tempPath);
    const leaks = scanOutput(written, identifiers, profileVr);
    if (leaks.length > 0) {
      await removeQuietly(tempPath);
      return { released: false, leaks };
    }
    await commitTempFile(tempPath, finalPath);
    return { released: true };
  } catch (error) {
    await removeQuietly(tempPath);
    throw error;
  }
}
