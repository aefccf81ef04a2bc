import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const OUTPUT_TAIL_CHARS = 4000;

/** A child process started by the benchmark, with the tail of its output for error messages. */
export interface ChildHandle {
  name: string;
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<number | null>;
  /** Sends SIGTERM by pid, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a long-running program with its own environment; stdout and stderr are kept in a tail. */
export function startChild(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
): ChildHandle {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${name}: ${command} could not be started`);
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid;
  return {
    name,
    child,
    pid,
    output: () => tail,
    exited,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(pid, 'SIGTERM');
      const timer = sleep(graceMs, 'timeout' as const);
      if ((await Promise.race([exited, timer])) === 'timeout') {
        process.kill(pid, 'SIGKILL');
        await exited;
      }
    },
  };
}

/** Waits until the child's output contains `text`; throws when it exits or the time runs out. */
export async function waitForOutput(handle: ChildHandle, text: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!handle.output().includes(text)) {
    if (handle.child.exitCode !== null) {
      throw new Error(`${handle.name} exited (code ${handle.child.exitCode}):\n${handle.output()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${handle.name} printed no "${text}" within ${timeoutMs} ms:\n${handle.output()}`);
    }
    await sleep(100);
  }
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Reads one `Vm*` field of /proc/<pid>/status, in MiB. */
export function readVmField(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match?.[1]) throw new Error(`/proc/${pid}/status has no ${field} line`);
  return Number(match[1]) / 1024;
}

/** Reads the CPU time, user plus system, that a process has used so far, in seconds. */
export function readCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces, so the split starts after
  // it, at the state (field 3). utime and stime are fields 14 and 15, in clock ticks.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`/proc/${pid}/stat has no utime and stime: ${stat}`);
  return ticks / clockTicksPerSecond();
}

let clockTicks: number | undefined;

function clockTicksPerSecond(): number {
  clockTicks ??= Number(run('getconf', ['CLK_TCK']).trim());
  if (!Number.isInteger(clockTicks) || clockTicks <= 0) {
    throw new Error(`getconf CLK_TCK returned ${clockTicks}, expected a positive integer`);
  }
  return clockTicks;
}

/** Runs a program to its end and throws with its stderr when it fails. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  const result = spawnSync(command, args, {
    ...options,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`${command} failed to run: ${result.error.message}`);
  if (result.status !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim().slice(-OUTPUT_TAIL_CHARS);
    throw new Error(`${command} ${args.join(' ')} exited with status ${result.status}:\n${output}`);
  }
  return result.stdout;
}

/** Polls `check` every `intervalMs` until it returns a value; throws after `timeoutMs`. */
export async function pollUntil<T>(
  description: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await sleep(intervalMs);
  }
}
