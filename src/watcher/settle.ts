import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Deepest level whose entries a walk reads; the entries of the walked folder are level 1. */
export const MAX_WALK_DEPTH = 64;

/** Number of `lstat` calls one walk keeps in flight. */
const LSTAT_CONCURRENCY = 8;

/** Number of unreadable paths one warning lists. */
const LOGGED_PATHS_MAX = 10;

/** Entry count, total size and max mtime of a folder tree, to notice writes anywhere in it. */
export interface TreeFingerprint {
  entryCount: number;
  totalBytes: number;
  maxMtimeMs: number;
}

/** Outcome of one walk of a folder tree. */
export interface TreeWalk {
  fingerprint: TreeFingerprint;
  /** Entries that could not be read, each as `path: reason`. Any of them means not settled. */
  unreadable: string[];
  /** Entries that vanished between `readdir` and `lstat`, a sign the tree is still written. */
  vanishedCount: number;
  /** Set when the walk skipped directories below `MAX_WALK_DEPTH`. */
  truncated: boolean;
}

export function sameFingerprint(a: TreeFingerprint, b: TreeFingerprint): boolean {
  return (
    a.entryCount === b.entryCount && a.totalBytes === b.totalBytes && a.maxMtimeMs === b.maxMtimeMs
  );
}

/** Semaphore that bounds how many tasks run at once. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly maxActive: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxActive) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active += 1;
    }

    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface WalkState {
  walk: TreeWalk;
  directories: Array<{ dirPath: string; depth: number }>;
  signal?: AbortSignal;
}

async function addEntry(state: WalkState, entryPath: string, depth: number): Promise<void> {
  let stats;
  try {
    stats = await fs.lstat(entryPath);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') state.walk.vanishedCount += 1;
    else state.walk.unreadable.push(`${entryPath}: ${describeError(error)}`);
    return;
  }

  const fingerprint = state.walk.fingerprint;
  fingerprint.entryCount += 1;
  fingerprint.totalBytes += stats.size;
  fingerprint.maxMtimeMs = Math.max(fingerprint.maxMtimeMs, stats.mtimeMs);

  if (!stats.isDirectory()) return;
  if (depth >= MAX_WALK_DEPTH) state.walk.truncated = true;
  else state.directories.push({ dirPath: entryPath, depth });
}

/** Runs `lstat` on every name of one directory, `LSTAT_CONCURRENCY` at a time. */
async function lstatEntries(state: WalkState, dirPath: string, names: string[], depth: number) {
  let next = 0;
  const worker = async () => {
    while (next < names.length && !state.signal?.aborted) {
      const name = names[next] as string;
      next += 1;
      await addEntry(state, path.join(dirPath, name), depth);
    }
  };

  const workerCount = Math.min(LSTAT_CONCURRENCY, names.length);
  await Promise.all(Array.from({ length: workerCount }, worker));
}

/**
 * Walks the tree under `root` with `lstat`, so symbolic links count as entries but are never
 * followed, and returns its fingerprint. The root itself is not counted. Unreadable entries are
 * collected in `unreadable`, except that a failure to read `root` itself is thrown.
 * Stops early, with a partial result, when `signal` is aborted.
 */
export async function walkTree(root: string, signal?: AbortSignal): Promise<TreeWalk> {
  const walk: TreeWalk = {
    fingerprint: { entryCount: 0, totalBytes: 0, maxMtimeMs: 0 },
    unreadable: [],
    vanishedCount: 0,
    truncated: false,
  };
  const state: WalkState = { walk, directories: [], signal };

  await lstatEntries(state, root, await fs.readdir(root), 1);

  for (let dir = state.directories.pop(); dir; dir = state.directories.pop()) {
    if (signal?.aborted) break;

    let names;
    try {
      names = await fs.readdir(dir.dirPath);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') walk.vanishedCount += 1;
      else walk.unreadable.push(`${dir.dirPath}: ${describeError(error)}`);
      continue;
    }
    await lstatEntries(state, dir.dirPath, names, dir.depth + 1);
  }
  return walk;
}

/** Logger methods the settle loop uses. */
export interface SettleLog {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface SettleOptions {
  /** Folder name, for log lines. */
  folder: string;
  settleMs: number;
  signal: AbortSignal;
  /** Shared between folders, so that few walks run at once. */
  limiter: Limiter;
  log: SettleLog;
}

function logIncompleteWalk(walk: TreeWalk, options: SettleOptions, warned: boolean): boolean {
  const { folder, log } = options;
  if (walk.unreadable.length > 0) {
    const fields = {
      folder,
      unreadableCount: walk.unreadable.length,
      paths: walk.unreadable.slice(0, LOGGED_PATHS_MAX),
    };
    if (warned) log.debug(fields, 'folder still has unreadable entries');
    else log.warn(fields, 'folder has unreadable entries, so it waits until they can be read');
    return true;
  }
  if (walk.vanishedCount > 0) {
    log.debug({ folder, vanishedCount: walk.vanishedCount }, 'entries vanished during walk');
  }
  return warned;
}

/**
 * Walks `root` every min(settleMs / 2, 1000) ms until its fingerprint stays the same for
 * `settleMs`. Resolves true once settled and false when `signal` is aborted. A walk that found
 * unreadable or vanished entries restarts the quiet time. Throws when `root` cannot be read.
 */
export async function waitUntilSettled(root: string, options: SettleOptions): Promise<boolean> {
  const { settleMs, signal } = options;
  const intervalMs = Math.min(settleMs / 2, 1000);
  let last: TreeFingerprint | undefined;
  let stableSinceMs = 0;
  let warned = false;
  let warnedTruncated = false;

  while (!signal.aborted) {
    let startedMs = 0;
    const walk = await options.limiter.run(() => {
      startedMs = performance.now();
      return walkTree(root, signal);
    });
    if (signal.aborted) return false;

    if (walk.truncated && !warnedTruncated) {
      // NOTE: changes below MAX_WALK_DEPTH do not delay the trigger.
      options.log.warn({ folder: options.folder, maxDepth: MAX_WALK_DEPTH }, 'folder too deep');
      warnedTruncated = true;
    }

    const complete = walk.unreadable.length === 0 && walk.vanishedCount === 0;
    if (!complete) warned = logIncompleteWalk(walk, options, warned);

    if (complete && last && sameFingerprint(last, walk.fingerprint)) {
      if (startedMs - stableSinceMs >= settleMs) return true;
    } else {
      last = complete ? walk.fingerprint : undefined;
      stableSinceMs = startedMs;
    }

    try {
      await sleep(intervalMs, undefined, { signal });
    } catch (error) {
      if (signal.aborted) return false;
      throw error;
    }
  }
  return false;
}
