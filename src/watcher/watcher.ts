import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';

import {
  type FolderIdentity,
  identityOf,
  InProgressFolders,
  isFinishedFolderName,
  isInProgressFolderName,
  lstatEntry,
  sameIdentity,
} from './folders';
import { errorCode, Limiter, waitUntilSettled } from './settle';

export type TriggerReason = 'renamed' | 'settled' | 'rescan';

export interface WatcherOptions {
  dataDir: string;
  /** Quiet time for folders not renamed from an in-progress name, in milliseconds. */
  settleMs: number;
  /** Period of the full rescan, in milliseconds. */
  rescanMs: number;
  /**
   * Starts (or finds already running) the import of one folder; must be idempotent. The watcher
   * calls it at most once at a time per folder name, and again later only after the folder
   * disappeared and came back. Errors are logged and the folder is tried again next rescan.
   */
  trigger: (name: string, reason: TriggerReason) => Promise<void>;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
    debug(obj: object, msg: string): void;
  };
}

export interface Watcher {
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Number of folders whose trees are walked at the same time. */
const WALK_CONCURRENCY = 2;

/** How long a vanished in-progress folder stays a rename source, beyond two rescans. */
const RENAME_WINDOW_EXTRA_MS = 5000;

type FolderStatus = 'settling' | 'triggering' | 'triggered' | 'failed';

interface FolderState {
  status: FolderStatus;
  identity: FolderIdentity;
  abort: AbortController;
  /** Set when the folder vanished or was replaced while `trigger` ran. */
  removed: boolean;
}

/** Origin of an inspection: a chokidar event, the first scan, or a periodic rescan. */
type Source = 'event' | 'scan' | 'rescan';

class DataFolderWatcher {
  private readonly dataDir: string;
  private readonly folders = new Map<string, FolderState>();
  private readonly inProgress: InProgressFolders;
  private readonly limiter = new Limiter(WALK_CONCURRENCY);
  private readonly pending = new Set<Promise<void>>();
  private chokidarWatcher?: FSWatcher;
  private rescanTimer?: NodeJS.Timeout;
  private endStartWait?: () => void;
  private closed = false;

  constructor(private readonly options: WatcherOptions) {
    this.dataDir = path.resolve(options.dataDir);
    this.inProgress = new InProgressFolders(
      this.dataDir,
      2 * options.rescanMs + RENAME_WINDOW_EXTRA_MS,
    );
  }

  async start(): Promise<void> {
    const { log, settleMs, rescanMs } = this.options;
    const chokidarWatcher = chokidar.watch(this.dataDir, {
      depth: 0,
      ignoreInitial: true,
      followSymlinks: false,
      atomic: false,
      ignored: (entryPath: string) =>
        entryPath !== this.dataDir && path.basename(entryPath).startsWith('.'),
    });
    this.chokidarWatcher = chokidarWatcher;
    chokidarWatcher.on('all', (event, entryPath, stats) => this.onEvent(event, entryPath, stats));
    chokidarWatcher.on('error', (err) => log.error({ err }, 'data folder watch failed'));
    await new Promise<void>((resolve) => {
      chokidarWatcher.once('ready', () => resolve());
      // chokidar emits no 'ready' once closed, so close() ends this wait itself.
      this.endStartWait = resolve;
    });
    if (this.closed) return;

    try {
      await this.scan('scan');
    } catch (error) {
      await this.close();
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`failed to read data folder ${this.dataDir}: ${reason}`, { cause: error });
    }
    if (this.closed) return;

    this.scheduleRescan();
    log.info({ dataDir: this.dataDir, settleMs, rescanMs }, 'watcher started');
  }

  async close(): Promise<void> {
    if (this.closed) return;

    this.closed = true;
    this.endStartWait?.();
    clearTimeout(this.rescanTimer);
    for (const state of this.folders.values()) state.abort.abort();
    await this.chokidarWatcher?.close();
    await Promise.allSettled([...this.pending]);
    this.options.log.info({ dataDir: this.dataDir }, 'watcher stopped');
  }

  /** Runs `work` in the background; close() waits for it, and its error is logged. */
  private track(work: Promise<void>, folder?: string): void {
    const tracked = work.catch((err: unknown) => {
      this.options.log.error({ folder, err }, 'data folder check failed');
    });
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  private onEvent(event: string, entryPath: string, stats: Stats | undefined): void {
    if (this.closed || path.dirname(entryPath) !== this.dataDir) return;

    const name = path.basename(entryPath);
    if (isInProgressFolderName(name)) {
      if (event === 'addDir') this.track(this.inspectInProgress(name, stats), name);
      if (event === 'unlinkDir') this.inProgress.markGone(name);
      return;
    }
    if (isFinishedFolderName(name)) this.track(this.inspect(name, 'event'), name);
  }

  private scheduleRescan(): void {
    if (this.closed) return;

    this.rescanTimer = setTimeout(() => {
      const rescan = this.scan('rescan').catch((err: unknown) => {
        this.options.log.error({ dataDir: this.dataDir, err }, 'data folder rescan failed');
      });
      this.track(rescan.finally(() => this.scheduleRescan()));
    }, this.options.rescanMs);
  }

  /** Lists the data folder and inspects each directory, and each tracked folder not listed. */
  private async scan(source: 'scan' | 'rescan'): Promise<void> {
    const entries = await fs.readdir(this.dataDir, { withFileTypes: true });
    const names = new Set(entries.filter((entry) => entry.isDirectory()).map((e) => e.name));
    this.inProgress.prune(names);

    const missingNames = [...this.folders.keys()].filter((name) => !names.has(name));
    for (const name of [...names, ...missingNames]) {
      if (this.closed) return;

      if (isInProgressFolderName(name)) await this.inspectInProgress(name, undefined);
      else if (isFinishedFolderName(name)) await this.inspect(name, source);
    }
  }

  private logLstatFailure(name: string, err: unknown): void {
    const fields = { folder: name, err };
    this.options.log.warn(fields, 'folder lstat failed, so it is retried at next rescan');
  }

  private async inspectInProgress(name: string, eventStats: Stats | undefined): Promise<void> {
    const result = await this.inProgress.inspect(name, eventStats);
    if (result.kind === 'failed') this.logLstatFailure(name, result.error);
    if (result.kind === 'found' && result.stats.isDirectory()) {
      this.options.log.debug({ folder: name }, 'in-progress folder seen');
    }
  }

  /** Brings the state of one finished-name entry in line with what is on disk. */
  private async inspect(name: string, source: Source): Promise<void> {
    const result = await lstatEntry(path.join(this.dataDir, name));
    if (result.kind === 'failed') this.logLstatFailure(name, result.error);
    if (this.closed || result.kind === 'failed') return;

    if (result.kind === 'missing' || !result.stats.isDirectory()) {
      this.forget(name);
      return;
    }

    const identity = identityOf(result.stats);
    const state = this.folders.get(name);
    if (state && !sameIdentity(state.identity, identity)) {
      // Replaced by another folder of the same name, so it is handled as new.
      this.forget(name);
      if (this.folders.has(name)) return;
    } else if (state) {
      if (state.status === 'failed' && source === 'rescan') {
        this.track(this.fire(name, state, 'rescan'), name);
      }
      return;
    }

    const renamedFrom = this.inProgress.takeRenameSource(name, identity);
    const abort = new AbortController();
    const fresh: FolderState = { status: 'settling', identity, abort, removed: false };
    this.folders.set(name, fresh);
    if (renamedFrom !== undefined) {
      this.options.log.debug({ folder: name, renamedFrom }, 'folder renamed from in-progress name');
      this.track(this.fire(name, fresh, 'renamed'), name);
    } else {
      const reason = source === 'rescan' ? 'rescan' : 'settled';
      this.track(this.settleThenFire(name, fresh, reason), name);
    }
  }

  private async settleThenFire(name: string, state: FolderState, reason: TriggerReason) {
    const { settleMs, log } = this.options;
    log.debug({ folder: name, reason }, 'waiting for folder to settle');

    let settled;
    try {
      settled = await waitUntilSettled(path.join(this.dataDir, name), {
        folder: name,
        settleMs,
        signal: state.abort.signal,
        limiter: this.limiter,
        log,
      });
    } catch (err) {
      if (this.folders.get(name) === state) this.folders.delete(name);
      if (errorCode(err) !== 'ENOENT') {
        log.warn({ folder: name, err }, 'folder not readable, so it is retried at next rescan');
      }
      return;
    }
    if (settled && !this.closed && this.folders.get(name) === state) {
      await this.fire(name, state, reason);
    }
  }

  /** Calls `trigger` once; a failure leaves the folder for the next rescan to retry. */
  private async fire(name: string, state: FolderState, reason: TriggerReason): Promise<void> {
    const { log, trigger } = this.options;
    state.status = 'triggering';
    log.info({ folder: name, reason }, 'triggering import');

    try {
      await trigger(name, reason);
      state.status = 'triggered';
      log.info({ folder: name, reason }, 'import triggered');
    } catch (err) {
      state.status = 'failed';
      const fields = { folder: name, reason, err };
      log.error(fields, 'import trigger failed, so it is retried at next rescan');
    }

    if (state.removed && this.folders.get(name) === state) {
      this.folders.delete(name);
      if (!this.closed) this.track(this.inspect(name, 'rescan'), name);
    }
  }

  /** Drops the state of a folder that vanished; a trigger in flight finishes first. */
  private forget(name: string): void {
    const state = this.folders.get(name);
    if (!state) return;

    if (state.status === 'triggering') {
      state.removed = true;
      return;
    }
    state.abort.abort();
    this.folders.delete(name);
    const fields = { folder: name, status: state.status };
    this.options.log.debug(fields, 'folder gone, so its state is dropped');
  }
}

/**
 * Watches the data folder and calls `options.trigger` once per finished folder: at once when it
 * was renamed from an in-progress name, otherwise after its tree was quiet for `settleMs`.
 * `ready` resolves after the first scan and rejects, closing the watcher, when the data folder
 * cannot be read. close() stops events, timers and walks, then waits for `trigger` calls running.
 */
export function startWatcher(options: WatcherOptions): Watcher {
  if (!(options.settleMs >= 0)) throw new RangeError(`invalid settleMs: ${options.settleMs}`);
  if (!(options.rescanMs > 0)) throw new RangeError(`invalid rescanMs: ${options.rescanMs}`);

  const watcher = new DataFolderWatcher(options);
  return { ready: watcher.start(), close: () => watcher.close() };
}
