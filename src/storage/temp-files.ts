import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { processAlive } from '../process-alive';

/** Prefix of every temporary file the product writes next to its final name. */
export const TEMP_PREFIX = '.dicom-import-';

// `.dicom-import-<host>-<pid>-<16 hex>.tmp`; the older `.dicom-import-<16 hex>.tmp` has no owner.
const OWNED_NAME = /^\.dicom-import-(.+)-(\d+)-[0-9a-f]{16}\.tmp$/;
const ANONYMOUS_NAME = /^\.dicom-import-[0-9a-f]{16}\.tmp$/;

function hostLabel(): string {
  return os.hostname().replace(/[^A-Za-z0-9.]/g, '_').slice(0, 64) || 'host';
}

/** Returns a new temporary file name that records the writing host and process. */
export function tempFileName(): string {
  return `${TEMP_PREFIX}${hostLabel()}-${process.pid}-${randomBytes(8).toString('hex')}.tmp`;
}

export function isTempFileName(name: string): boolean {
  return OWNED_NAME.test(name) || ANONYMOUS_NAME.test(name);
}


/**
 * Tests whether a temporary file can no longer be in use: its writer was a process of this host that
 * has exited, or it is older than `maxAgeMs`, which must exceed the longest activity run.
 * NOTE: a reused process id keeps a dead writer's file until `maxAgeMs` has passed.
 */
export function isStaleTempFile(name: string, mtimeMs: number, maxAgeMs: number, nowMs: number) {
  if (!isTempFileName(name)) return false;
  if (nowMs - mtimeMs > maxAgeMs) return true;
  const owner = OWNED_NAME.exec(name);
  if (!owner || owner[1] !== hostLabel()) return false;
  const pid = Number(owner[2]);
  return pid !== process.pid && !processAlive(pid);
}

export interface SweepOptions {
  /** Age after which any temporary file counts as abandoned, in ms. */
  maxAgeMs: number;
  /** Descends into subfolders; the default sweeps only the folders given. */
  recursive?: boolean;
}

/**
 * Removes abandoned temporary files (see isStaleTempFile) from `folders`. Missing folders are
 * skipped. Returns the removed paths.
 */
export async function sweepStaleTempFiles(
  folders: Iterable<string>,
  options: SweepOptions,
): Promise<string[]> {
  const removed: string[] = [];
  const pending = [...new Set(folders)];
  while (pending.length > 0) {
    const folder = pending.pop() as string;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(folder, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new Error(`temporary file sweep of ${folder} failed: ${(error as Error).message}`);
    }
    for (const entry of entries) {
      const entryPath = path.join(folder, entry.name);
      if (entry.isDirectory() && options.recursive) pending.push(entryPath);
      if (!entry.isFile() || !isTempFileName(entry.name)) continue;
      if (await removeIfStale(entryPath, options.maxAgeMs)) removed.push(entryPath);
    }
  }
  return removed;
}

async function removeIfStale(filePath: string, maxAgeMs: number): Promise<boolean> {
  try {
    const stat = await fs.lstat(filePath);
    if (!isStaleTempFile(path.basename(filePath), stat.mtimeMs, maxAgeMs, Date.now())) return false;
    await fs.unlink(filePath);
    return true;
  } catch (error) {
    // Renamed into place or removed by its writer since the listing.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new Error(`removal of temporary file ${filePath} failed: ${(error as Error).message}`);
  }
}

/**
 * Removes abandoned temporary files anywhere under media and de-identified storage; meant for
 * worker start, before the worker takes activities. Returns the removed paths.
 */
export async function sweepStorage(config: {
  mediaDir: string;
  deidDir: string;
  tempMaxAgeMs: number;
}): Promise<string[]> {
  return sweepStaleTempFiles([config.mediaDir, config.deidDir], {
    maxAgeMs: config.tempMaxAgeMs,
    recursive: true,
  });
}
