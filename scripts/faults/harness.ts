import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import postgres from 'postgres';
import { loadConfig } from '../../src/config';
import { openPostgres } from '../../src/db/client';
import { startImport } from '../../src/temporal/client';
import { type DevServer, startDevServer } from '../../src/temporal/dev-server';
import { CliProcess } from './processes';

/** Admin connection of the local Postgres server; FAULTS_DATABASE_URL overrides it. */
const ADMIN_URL = process.env.FAULTS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NAMESPACE = 'faults';

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

/** One scenario's world: folders, a fresh database, a dev server with its state on disk, a worker. */
export class Harness {
  readonly dataDir: string;
  readonly mediaDir: string;
  readonly deidDir: string;
  readonly logDir: string;
  readonly env: Record<string, string>;
  readonly worker: CliProcess;
  sql!: postgres.Sql;
  client!: Client;
  restarts = 0;
  kills = 0;
  private connection!: Connection;
  private server: DevServer | undefined;
  private ports!: { port: number; uiPort: number };

  private constructor(
    readonly name: string,
    readonly root: string,
    private readonly dbName: string,
    overrides: Record<string, string>,
  ) {
    this.dataDir = path.join(root, 'data');
    this.mediaDir = overrides.MEDIA_DIR ?? path.join(root, 'media');
    this.deidDir = path.join(root, 'deid');
    this.logDir = path.join(root, 'logs');
    for (const dir of [this.dataDir, this.mediaDir, this.deidDir, this.logDir]) {
      fs.mkdirSync(dir, { recursive: true });
    }
    const url = new URL(ADMIN_URL);
    url.pathname = `/${dbName}`;
    this.env = {
      DATABASE_URL: url.toString(),
      DATA_DIR: this.dataDir,
      MEDIA_DIR: this.mediaDir,
      DEID_DIR: this.deidDir,
      STATE_DIR: path.join(root, 'state'),
      TEMPORAL_NAMESPACE: NAMESPACE,
      TEMPORAL_TASK_QUEUE: `faults-${name}`,
      DEID_SECRET: 'faults-secret',
      IMPORT_CHUNK_SIZE: '25',
      IMPORT_CONCURRENCY: '4',
      SETTLE_SECONDS: '1',
      RESCAN_SECONDS: '2',
      ...overrides,
    };
    this.worker = new CliProcess('worker', this.env, path.join(this.logDir, 'worker.log'));
  }

  /** Creates the folders and the database, starts the dev server and connects a client. */
  static async create(name: string, overrides: Record<string, string> = {}): Promise<Harness> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `dicom-import-faults-${name}-`));
    const dbName = `dicom_import_faults_${randomBytes(5).toString('hex')}`;
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`create database ${dbName}`);
    } finally {
      await admin.end();
    }
    const harness = new Harness(name, root, dbName, overrides);
    const migrator = openPostgres(harness.env.DATABASE_URL as string, 1);
    await migrator.migrate();
    await migrator.close();
    harness.sql = postgres(harness.env.DATABASE_URL as string, { max: 2, onnotice: () => {} });
    harness.ports = { port: await freePort(), uiPort: await freePort() };
    await harness.startTemporal();
    return harness;
  }

  get config() {
    return loadConfig(this.env);
  }

  private async startTemporal(): Promise<void> {
    this.server = await startDevServer({
      stateDir: path.join(this.root, 'temporal'),
      port: this.ports.port,
      uiPort: this.ports.uiPort,
      namespace: NAMESPACE,
      log: () => {},
    });
    this.env.TEMPORAL_ADDRESS = this.server.address;
    this.connection ??= await Connection.connect({ address: this.server.address });
    this.client ??= new Client({ connection: this.connection, namespace: NAMESPACE });
  }

  /** Stops the dev server and starts it again on the same ports with the same state file. */
  async restartTemporal(downMs = 2_000): Promise<void> {
    await this.server?.stop();
    await sleep(downMs);
    await this.startTemporal();
    this.restarts += 1;
  }

  async killWorker(): Promise<void> {
    await this.worker.stop('SIGKILL');
    this.kills += 1;
  }

  async restartWorker(): Promise<void> {
    await this.worker.start();
    this.restarts += 1;
  }

  /** Starts the import workflow of `<DATA_DIR>/<name>` as the watcher would. */
  async startImport(batchName: string): Promise<WorkflowHandle> {
    const result = await startImport(this.client, this.config, batchName, path.join(this.dataDir, batchName));
    return this.client.workflow.getHandle(result.workflowId, result.runId);
  }

  /** Files handled plus de-identified images of a batch; queries that fail count as no progress. */
  async progress(batchName: string): Promise<number> {
    try {
      const [row] = await this.sql<{ done: number }[]>`
        select
          (select count(*)::int from delivery_files f join deliveries d on d.id = f.delivery_id
            join batches b on b.id = d.batch_id where b.name = ${batchName} and f.status <> 'pending')
          + (select count(*)::int from deid_images i join batches b on b.id = i.batch_id
            where b.name = ${batchName}) as done`;
      return row?.done ?? 0;
    } catch {
      // Postgres is restarting in the postgres scenario; the caller polls again.
      return -1;
    }
  }

  /** Waits until the progress of a batch passes `above`; returns false when `timeoutMs` ran out. */
  async waitForProgress(batchName: string, above: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.progress(batchName)) > above) return true;
      await sleep(100);
    }
    return false;
  }

  /**
   * Waits until a workflow has closed, tolerating a server that is down meanwhile; returns its
   * status name and, when completed, its result. A run that continued as new is followed to the
   * workflow's latest run.
   */
  async waitForClose(handle: WorkflowHandle, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const description = await handle.describe();
        if (description.status.name === 'CONTINUED_AS_NEW') {
          handle = this.client.workflow.getHandle(handle.workflowId);
          continue;
        }
        if (description.status.name !== 'RUNNING') {
          const result = description.status.name === 'COMPLETED' ? await handle.result() : undefined;
          return { status: description.status.name, result };
        }
      } catch {
        // The server is restarting; describe again shortly.
      }
      await sleep(500);
    }
    return { status: 'TIMED_OUT_WAITING', result: undefined };
  }

  /** Stops every process, drops the database and removes the folders. */
  async close(): Promise<void> {
    await this.worker.stop('SIGTERM');
    await this.connection?.close();
    await this.server?.stop();
    await this.sql?.end({ timeout: 5 });
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`drop database if exists ${this.dbName} with (force)`);
    } finally {
      await admin.end();
    }
    if (!process.env.FAULTS_KEEP) fs.rmSync(this.root, { recursive: true, force: true });
  }
}
