import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

import { errorCode } from './settle';

/** Suffix the importer appends to the name of a folder whose import failed. */
const FAILED_SUFFIX = '.err';

function isHiddenName(name: string): boolean {
  return name.startsWith('.');
}

/**
 * Tests whether a data-folder entry name marks a transfer still in progress: its extension (the
 * part after the last dot) starts with `tmp`, so `L123.tmp` and `x.tmp1234` are in progress.
 * Hidden names return false. The comparison ignores case, so `L123.TMP` is in progress too.
 */
export function isInProgressFolderName(name: string): boolean {
  if (name === '' || isHiddenName(name)) return false;

  const extension = path.extname(name).slice(1);
  return extension.toLowerCase().startsWith('tmp');
}

/**
 * Tests whether a data-folder entry name is one the watcher imports: not empty, not hidden, not in
 * progress, and not ending in `.err` (any case). Names with a path separator return false.
 * The name alone says nothing about the entry type; the caller still checks it is a directory.
 */
export function isFinishedFolderName(name: string): boolean {
  if (name === '' || isHiddenName(name)) return false;
  if (name.includes('/') || name.includes(path.sep)) return false;
  if (name.toLowerCase().endsWith(FAILED_SUFFIX)) return false;

  return !isInProgressFolderName(name);
}

/** Device, inode and birth time, kept by a rename but new for a folder on a reused inode. */
export interface FolderIdentity {
  dev: number;
  ino: number;
  birthtimeMs: number;
}

export function identityOf(stats: Stats): FolderIdentity {
  return { dev: stats.dev, ino: stats.ino, birthtimeMs: stats.birthtimeMs };
}

/**
 * Compares device and inode, and birth time unless one side reports none (0).
 * NOTE: where Node reports the change time as birth time (no statx on Linux), a rename changes
 * it, so a renamed folder no longer matches and waits for the settle time instead.
 */
export function sameIdentity(a: FolderIdentity, b: FolderIdentity): boolean {
  if (a.dev !== b.dev || a.ino !== b.ino) return false;
  return a.birthtimeMs === 0 || b.birthtimeMs === 0 || a.birthtimeMs === b.birthtimeMs;
}

interface InProgressRecord {
  /** Missing when the folder vanished before its `lstat` returned. */
  identity?: FolderIdentity;
  goneAtMs?: number;
}

/** Strips the in-progress extension: `L123.tmp` and `L123.tmp42` both become `L123`. */
function finishedNameOf(inProgressName: string): string {
  return inProgressName.slice(0, inProgressName.length - path.extname(inProgressName).length);
}

/**
 * In-progress folders seen in the data folder, kept for `keepGoneMs` after they vanish, so that a
 * finished folder can be matched to the in-progress folder it was renamed from.
 */
export class InProgressFolders {
  private readonly records = new Map<string, InProgressRecord>();

  constructor(
    private readonly dataDir: string,
    private readonly keepGoneMs: number,
  ) {}

  /**
   * Records `name` from an `lstat` of its path. `eventStats`, from the chokidar event that reported
   * the folder, keep its identity even when the folder is renamed before `lstat` returns.
   */
  async inspect(name: string, eventStats?: Stats): Promise<LstatResult> {
    if (eventStats?.isDirectory()) this.see(name, identityOf(eventStats));

    const result = await lstatEntry(path.join(this.dataDir, name));
    if (result.kind === 'found' && result.stats.isDirectory()) {
      this.see(name, identityOf(result.stats));
    } else if (result.kind === 'found') {
      this.records.delete(name);
    } else if (result.kind === 'missing' && eventStats) {
      this.see(name, undefined);
      this.markGone(name);
    }
    return result;
  }

  markGone(name: string): void {
    const record = this.records.get(name);
    if (record && record.goneAtMs === undefined) record.goneAtMs = performance.now();
  }

  /** Marks records missing from `presentNames` as gone and drops those gone too long. */
  prune(presentNames: ReadonlySet<string>): void {
    const nowMs = performance.now();
    for (const [name, record] of this.records) {
      if (presentNames.has(name)) continue;

      this.markGone(name);
      if (nowMs - (record.goneAtMs ?? nowMs) > this.keepGoneMs) this.records.delete(name);
    }
  }

  /**
   * Finds the in-progress folder that the finished folder `name` was renamed from, removes its
   * record and returns its name. A record with the same identity matches. A record whose identity
   * is unknown matches by name (`name.tmp*`) when it vanished less than `keepGoneMs` ago.
   */
  takeRenameSource(name: string, identity: FolderIdentity): string | undefined {
    for (const [sourceName, record] of this.records) {
      if (record.identity && sameIdentity(record.identity, identity)) {
        this.records.delete(sourceName);
        return sourceName;
      }
    }

    const nowMs = performance.now();
    for (const [sourceName, record] of this.records) {
      if (record.identity || record.goneAtMs === undefined) continue;
      if (nowMs - record.goneAtMs > this.keepGoneMs) continue;
      if (finishedNameOf(sourceName) !== name) continue;

      this.records.delete(sourceName);
      return sourceName;
    }
    return undefined;
  }

  /** Records a folder as present; an unknown identity keeps the one recorded before. */
  private see(name: string, identity: FolderIdentity | undefined): void {
    const known = this.records.get(name)?.identity;
    this.records.set(name, { identity: identity ?? known });
  }
}

/** Result of `lstatEntry`: the stats, or no such entry, or the error of a failed call. */
export type LstatResult =
  | { kind: 'found'; stats: Stats }
  | { kind: 'missing' }
  | { kind: 'failed'; error: unknown };

export async function lstatEntry(entryPath: string): Promise<LstatResult> {
  try {
    return { kind: 'found', stats: await fs.lstat(entryPath) };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { kind: 'missing' };
    return { kind: 'failed', error };
  }
}
