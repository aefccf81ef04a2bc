import fs from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { type DevServer, startDevServer } from '../../src/temporal/dev-server';
import { importWorkflowId } from '../../src/temporal/workflow-ids';
import { type BenchDatabase, createBenchDatabase } from './database';
import { type GenerateOptions, generateFolder } from './generate';
import {
  type ChildHandle,
  freePort,
  pollUntil,
  readCpuSeconds,
  readVmField,
  run,
  startChild,
  waitForOutput,
} from './processes';

const ROOT = path.resolve(__dirname, '../..');
const NAMESPACE = 'bench';
const TASK_QUEUE = 'dicom-import-bench';

export interface ProductOptions {
  /** Temporary folder for the data, media, de-identified and Temporal state folders. */
  dir: string;
  /** `dist` runs the compiled CLI; `tsx` runs the TypeScript sources. */
  runtime: 'dist' | 'tsx';
  /** Folder for the worker's V8 CPU profile, written when the worker exits. */
  cpuProfileDir?: string;
  /** Maximum wait for one batch, in ms. */
  timeoutMs: number;
}

export interface ProductStack {
  client: Client;
  worker: ChildHandle;
  /** Resident memory of the worker once it logged its start, before any import, in MiB. */
  workerStartRssMb: number;
  dataDir: string;
  database: BenchDatabase;
  stop(): Promise<void>;
}

export interface ProductTimes {
  /** From the rename to the batch closed with every row committed. */
  importSeconds: number;
  /** From the rename to status DONE, the de-identified copies written. */
  deidSeconds: number;
  /** From the rename to the start of the import workflow: the watcher's share. */
  startSeconds: number;
  /** CPU time the worker process used until the batch was closed, and until DONE. */
  importCpuSeconds: number;
  deidCpuSeconds: number;
}

function cliCommand(runtime: ProductOptions['runtime'], command: string): string[] {
  if (runtime === 'dist') return [path.join(ROOT, 'dist/src/cli/main.js'), command];
  return ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), command];
}

/**
 * Starts the product as in production: a Temporal dev server, a fresh Postgres database, the worker
 * and the watcher as separate processes. Knobs such as IMPORT_CHUNK_SIZE pass through from the
 * environment of the benchmark.
 */
export async function startProductStack(options: ProductOptions): Promise<ProductStack> {
  const stopping: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const step of stopping.reverse()) await step();
  };
  try {
    const database = await createBenchDatabase('product');
    stopping.push(() => database.drop());
    const server: DevServer = await startDevServer({
      stateDir: path.join(options.dir, 'temporal'),
      port: await freePort(),
      uiPort: await freePort(),
      namespace: NAMESPACE,
      log: () => {},
    });
    stopping.push(() => server.stop());

    const dataDir = path.join(options.dir, 'data');
    await fs.mkdir(dataDir, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: NAMESPACE,
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      DATA_DIR: dataDir,
      MEDIA_DIR: path.join(options.dir, 'media'),
      DEID_DIR: path.join(options.dir, 'deid'),
      STATE_DIR: path.join(options.dir, 'state'),
      LOG_FORMAT: 'json',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    };
    // Node 20 rejects --cpu-prof in NODE_OPTIONS, so it goes on the worker's command line.
    const { cpuProfileDir } = options;
    const profile = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
    const workerArgs = [...profile, ...cliCommand(options.runtime, 'worker')];
    const worker = startChild('worker', process.execPath, workerArgs, env, ROOT);
    stopping.push(() => worker.stop(60_000));
    await waitForOutput(worker, 'worker started', 120_000);
    const workerStartRssMb = readVmField(worker.pid, 'VmRSS');

    const watcherArgs = cliCommand(options.runtime, 'watch');
    const watcher = startChild('watcher', process.execPath, watcherArgs, env, ROOT);
    stopping.push(() => watcher.stop());
    await waitForOutput(watcher, 'watcher started', 60_000);

    const connection = await Connection.connect({ address: server.address });
    stopping.push(() => connection.close());
    const client = new Client({ connection, namespace: NAMESPACE });
    return { client, worker, workerStartRssMb, dataDir, database, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface BatchRow {
  status: string;
  imported_at: Date | null;
}

/**
 * Generates `<name>.tmp` in the data folder, flushes it, then times the rename to `<name>` until
 * the batch is closed and until it is DONE; waits for the workflow's end before returning.
 */
export async function importThroughProduct(
  stack: ProductStack,
  name: string,
  generate: Omit<GenerateOptions, 'folder'>,
  timeoutMs: number,
): Promise<ProductTimes> {
  const inProgress = path.join(stack.dataDir, `${name}.tmp`);
  await generateFolder({ ...generate, folder: inProgress });
  run('sync', []);
  const sql = postgres(stack.database.url, { max: 1, onnotice: () => {} });
  try {
    const cpuAtStart = readCpuSeconds(stack.worker.pid);
    const renamedAt = Date.now();
    const started = performance.now();
    await fs.rename(inProgress, path.join(stack.dataDir, name));
    const batchIn = async (done: (row: BatchRow) => boolean) => {
      let row: BatchRow | undefined;
      try {
        [row] = await sql<BatchRow[]>`select status, imported_at from batches where name = ${name}`;
      } catch (error) {
        // A restart of the shared Postgres server delays the batch; the poll tries again.
        if (!isConnectionFault(error)) throw error;
        process.stderr.write(`bench: batch ${name} poll failed, retrying: ${String(error)}\n`);
        return undefined;
      }
      if (row && (row.status === 'ERROR' || row.status === 'EMPTY')) {
        throw new Error(`batch ${name} ended as ${row.status}:\n${stack.worker.output()}`);
      }
      return row && done(row) ? true : undefined;
    };
    await pollUntil(`batch ${name} closed`, () => batchIn((row) => row.imported_at !== null), timeoutMs);
    const importSeconds = (performance.now() - started) / 1000;
    const importCpuSeconds = readCpuSeconds(stack.worker.pid) - cpuAtStart;
    process.stderr.write(`bench: batch ${name} closed after ${importSeconds.toFixed(2)} s\n`);
    await pollUntil(`batch ${name} DONE`, () => batchIn((row) => row.status === 'DONE'), timeoutMs);
    const deidSeconds = (performance.now() - started) / 1000;
    const deidCpuSeconds = readCpuSeconds(stack.worker.pid) - cpuAtStart;

    const handle = stack.client.workflow.getHandle(importWorkflowId(name));
    await handle.result();
    const { startTime } = await handle.describe();
    await checkCounts(sql, name, generate.files);
    const startSeconds = (startTime.getTime() - renamedAt) / 1000;
    return { importSeconds, deidSeconds, startSeconds, importCpuSeconds, deidCpuSeconds };
  } finally {
    await sql.end();
  }
}

/** SQLSTATE class 57 (operator intervention, such as a shutdown) and lost connections. */
function isConnectionFault(error: unknown): boolean {
  const code = String((error as { code?: unknown }).code ?? '');
  if (code.startsWith('57') || code.startsWith('08')) return true;
  return code.startsWith('ECONN') || code === 'CONNECTION_CLOSED';
}

/** Throws unless every generated file became one image and one released de-identified copy. */
async function checkCounts(sql: postgres.Sql, name: string, files: number): Promise<void> {
  const [row] = await sql<Array<{ images: number; released: number }>>`
    select
      (select count(*)::int from images i join batches b on b.id = i.batch_id where b.name = ${name})
        as images,
      (select count(*)::int from deid_images d join batches b on b.id = d.batch_id
        where b.name = ${name} and d.status = 'released') as released
  `;
  if (row?.images !== files || row.released !== files) {
    const found = `${row?.images} images and ${row?.released} de-identified copies`;
    throw new Error(`batch ${name} has ${found}, expected ${files} of each`);
  }
}
