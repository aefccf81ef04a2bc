import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { findTemporalCli } from './binary';

const HOST = '127.0.0.1';
const STDERR_TAIL_LINES = 20;
const POLL_INTERVAL_MS = 200;

export type SearchAttributeTypeName = 'Keyword' | 'Int' | 'Text' | 'Datetime' | 'Bool' | 'Double';

export interface DevServerOptions {
  /** Folder for `temporal.db`, the SQLite file that keeps workflows across restarts. */
  stateDir: string;
  /** Port of the frontend gRPC service, bound on 127.0.0.1. */
  port: number;
  /** Port of the Temporal Web UI, bound on 127.0.0.1. */
  uiPort: number;
  /** Namespace created at launch, next to `default`. */
  namespace: string;
  /** Custom search attributes registered at launch, by name. */
  searchAttributes?: Record<string, SearchAttributeTypeName>;
  /** Time the frontend port has to accept connections, in ms (default 60 000). */
  startTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping, in ms (default 10 000). */
  stopTimeoutMs?: number;
  log: (msg: string, meta?: object) => void;
}

export interface DevServer {
  /** `host:port` of the frontend, for Connection.connect and NativeConnection.connect. */
  address: string;
  uiUrl: string;
  /** Sends SIGTERM, then SIGKILL when the server has not exited after `stopTimeoutMs`. */
  stop(): Promise<void>;
}

/** Thrown when the dev server cannot start: no CLI, a port in use, an early exit or a timeout. */
export class DevServerStartError extends Error {
  override readonly name = 'DevServerStartError';

  constructor(
    message: string,
    readonly stderrTail: string[] = [],
  ) {
    super(stderrTail.length ? `${message}\nlast stderr lines:\n${stderrTail.join('\n')}` : message);
  }
}

/**
 * Starts `temporal server start-dev` with its state in `<stateDir>/temporal.db` and resolves once
 * the frontend port accepts connections. Throws DevServerStartError when the CLI is not installed
 * (no download here, because a downloaded server would keep no state), when a port is taken,
 * or when the server exits or times out before it listens.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = findTemporalCli();
  if (!cli) {
    throw new DevServerStartError(
      'Temporal CLI not found: run `npm run setup`, ' +
        'or set TEMPORAL_CLI_PATH to a `temporal` binary',
    );
  }
  for (const port of [options.port, options.uiPort]) {
    if (await isPortOpen(port)) {
      throw new DevServerStartError(`Temporal dev server not started: ${HOST}:${port} is in use`);
    }
  }
  await mkdir(options.stateDir, { recursive: true });

  const dbFilename = join(options.stateDir, 'temporal.db');
  const args = devServerArgs(options, dbFilename);
  const server = spawnServer(cli, args, options.stopTimeoutMs ?? 10_000);
  await waitUntilListening(server, options.port, options.startTimeoutMs ?? 60_000);

  const address = `${HOST}:${options.port}`;
  const uiUrl = `http://${HOST}:${options.uiPort}`;
  let stopping = false;
  void server.exited.then((exitStatus) => {
    if (stopping) return;

    const { stderrTail } = server;
    options.log('Temporal dev server exited unexpectedly', { exitStatus, stderrTail, address });
  });
  options.log('Temporal dev server started', { address, uiUrl, dbFilename, pid: server.child.pid });

  return {
    address,
    uiUrl,
    async stop() {
      stopping = true;
      await stopServer(server);
      options.log('Temporal dev server stopped', { address });
    },
  };
}

interface ServerProcess {
  cli: string;
  child: ChildProcess;
  /** Resolves with `code N` or `signal NAME` once the process has exited and closed stderr. */
  exited: Promise<string>;
  /** Rejects when the process cannot be spawned at all. */
  spawnFailed: Promise<never>;
  stderrTail: string[];
  stopTimeoutMs: number;
}

function spawnServer(cli: string, args: string[], stopTimeoutMs: number): ServerProcess {
  const child = spawn(cli, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<string>((resolve) => {
    child.once('close', (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`));
  });
  const spawnFailed = new Promise<never>((_, reject) => {
    child.once('error', (error) => {
      reject(new DevServerStartError(`cannot run ${cli}: ${error.message}`));
    });
  });
  const stderrTail = collectStderrTail(child);
  return { cli, child, exited, spawnFailed, stderrTail, stopTimeoutMs };
}

/** Waits for the frontend port. On failure, stops the process and adds its stderr to the error. */
async function waitUntilListening(server: ServerProcess, port: number, timeoutMs: number) {
  const polling = new AbortController();
  const exitedEarly = server.exited.then((exitStatus) => {
    throw new DevServerStartError(`${server.cli} exited with ${exitStatus} before listening`);
  });

  try {
    await Promise.race([
      waitForPort(port, timeoutMs, server.cli, polling.signal),
      exitedEarly,
      server.spawnFailed,
    ]);
  } catch (error) {
    await stopServer(server);
    if (!(error instanceof DevServerStartError)) throw error;
    throw new DevServerStartError(error.message, server.stderrTail);
  } finally {
    polling.abort();
  }
}

function devServerArgs(options: DevServerOptions, dbFilename: string): string[] {
  const args = ['server', 'start-dev', '--db-filename', dbFilename, '--ip', HOST];
  args.push('--port', String(options.port), '--ui-port', String(options.uiPort));
  args.push('--namespace', options.namespace, '--log-level', 'warn');
  for (const [name, type] of Object.entries(options.searchAttributes ?? {})) {
    args.push('--search-attribute', `${name}=${type}`);
  }
  return args;
}

/** Keeps the last lines of the server's stderr for start errors and exit logs. */
function collectStderrTail(child: ChildProcess): string[] {
  const tail: string[] = [];
  let partial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    tail.push(...lines.filter((line) => line.trim() !== ''));
    tail.splice(0, Math.max(0, tail.length - STDERR_TAIL_LINES));
  });
  child.stderr?.on('end', () => {
    if (partial.trim() !== '') tail.push(partial);
  });
  return tail;
}

async function waitForPort(port: number, timeoutMs: number, cli: string, signal: AbortSignal) {
  const deadline = Date.now() + timeoutMs;
  while (!signal.aborted && !(await isPortOpen(port))) {
    if (Date.now() > deadline) {
      throw new DevServerStartError(
        `${cli} did not accept connections on ${HOST}:${port} within ${timeoutMs} ms`,
      );
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

function isPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port, timeout: 1_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    // A refused or timed-out connection means nothing listens on the port yet.
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function stopServer({ child, exited, stopTimeoutMs }: ServerProcess): Promise<void> {
  const neverStarted = child.pid === undefined;
  if (neverStarted || child.exitCode !== null || child.signalCode !== null) return;

  child.kill('SIGTERM');
  // Unreferenced, so a pending grace timer does not keep the Node process alive after the exit.
  const timedOut = sleep(stopTimeoutMs, false, { ref: false });
  const graceful = await Promise.race([exited.then(() => true), timedOut]);
  if (graceful) return;

  child.kill('SIGKILL');
  await exited;
}
