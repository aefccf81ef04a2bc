import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = path.resolve(__dirname, '../..');
const CLI = ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts')];

/** One `dicom-import` command run as its own process, its stderr (the JSON log) appended to a file. */
export class CliProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | string> | undefined;
  starts = 0;

  constructor(
    readonly command: 'worker' | 'watch',
    private readonly env: NodeJS.ProcessEnv,
    readonly logFile: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and waits until its log says it has started. */
  async start(timeoutMs = 90_000): Promise<void> {
    if (this.running) throw new Error(`${this.command} is already running (pid ${this.pid})`);
    const log = fs.openSync(this.logFile, 'a');
    const startedAt = fs.statSync(this.logFile).size;
    const child = spawn(process.execPath, [...CLI, this.command], {
      cwd: ROOT,
      env: { ...process.env, LOG_FORMAT: 'json', ...this.env },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.child = child;
    this.starts += 1;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ?? code ?? 'unknown'));
    });
    const marker = this.command === 'worker' ? '"worker started"' : '"watcher started"';
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`${this.command} exited with ${await this.exited}; log: ${this.logFile}`);
      }
      if (this.logSince(startedAt).includes(marker)) return;
      await sleep(200);
    }
    throw new Error(`${this.command} did not start within ${timeoutMs} ms; log: ${this.logFile}`);
  }

  /** Sends `signal` and waits for the exit; returns the exit code or signal name and the time taken. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 60_000) {
    if (!this.child || !this.running) return { exit: 'not running', ms: 0 };
    const started = Date.now();
    this.child.kill(signal);
    const exit = await Promise.race([this.exited as Promise<number | string>, sleep(timeoutMs, 'timeout')]);
    if (exit === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    return { exit, ms: Date.now() - started };
  }

  logSince(offset: number): string {
    const fd = fs.openSync(this.logFile, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buffer = Buffer.alloc(Math.max(0, size - offset));
      fs.readSync(fd, buffer, 0, buffer.length, offset);
      return buffer.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  }
}
