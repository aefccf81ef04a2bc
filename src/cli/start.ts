import fs from 'node:fs';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { type DatabaseHandle, openPglite, openPostgres } from '../db/client';
import { embeddedServerFile, lockEmbedded, pgliteDataDir } from '../db/open';
import { startDevServer } from '../temporal/dev-server';
import { installRuntimeLogger } from '../temporal/runtime-logger';
import { DEV_SERVER_SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import { createWorker } from '../temporal/worker';
import { type CommandContext, type RunningStartInfo, runningStartFile, shutdownSignal } from './runtime';
import { watchDataDir } from './watch';

export interface StartOptions {
  port: number;
  uiPort: number;
  dbPort: number;
}

/**
 * Runs the whole pipeline on one machine: a Temporal dev server with its UI and its state under
 * STATE_DIR, the database (PGlite under STATE_DIR unless DATABASE_URL is set), migrations, the worker
 * and the watcher. Returns when SIGINT or SIGTERM arrives and everything has stopped.
 */
export async function runStart({ config, log }: CommandContext, options: StartOptions): Promise<void> {
  for (const dir of [config.dataDir, config.mediaDir, config.deidDir, config.stateDir]) {
    fs.mkdirSync(dir, { recursive: true });
  }
  const stopping: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stopping.reverse()) {
      try {
        await stop();
      } catch (error) {
        log.error({ error: (error as Error).message }, 'shutdown step failed');
      }
    }
  };

  installRuntimeLogger(log);
  try {
    const server = await startDevServer({
      stateDir: config.stateDir,
      port: options.port,
      uiPort: options.uiPort,
      namespace: config.temporalNamespace,
      searchAttributes: DEV_SERVER_SEARCH_ATTRIBUTES,
      log: (msg, meta) => log.info(meta ?? {}, msg),
    });
    stopping.push(() => server.stop());
    const runConfig = { ...config, temporalAddress: server.address };

    const database = await openDatabase(runConfig, options, log, stopping);
    await database.migrate();
    log.info({ kind: database.kind }, 'database migrated');

    const nativeConnection = await NativeConnection.connect({ address: server.address });
    stopping.push(() => nativeConnection.close());
    const worker = await createWorker({ config: runConfig, db: database.db, connection: nativeConnection });
    const running = worker.run();
    stopping.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });

    const connection = await Connection.connect({ address: server.address });
    stopping.push(() => connection.close());
    const client = new Client({ connection, namespace: config.temporalNamespace });
    const watcher = watchDataDir(runConfig, client, log);
    stopping.push(() => watcher.close());
    await watcher.ready;

    const startFile = runningStartFile(config);
    const startInfo: RunningStartInfo = {
      pid: process.pid,
      temporalAddress: server.address,
      temporalUiUrl: server.uiUrl,
    };
    fs.writeFileSync(startFile, JSON.stringify(startInfo));
    stopping.push(async () => fs.rmSync(startFile, { force: true }));

    process.stdout.write(
      [
        'dicom-import is running.',
        `  Temporal UI:   ${server.uiUrl}`,
        `  Temporal:      ${server.address} (namespace ${config.temporalNamespace})`,
        `  Data folder:   ${config.dataDir}`,
        `  Media storage: ${config.mediaDir}`,
        `  De-identified: ${config.deidDir}`,
        `  Database:      ${database.kind === 'pglite' ? pgliteDataDir(config) : 'DATABASE_URL'}`,
        'Copy a study into <data folder>/<name>.tmp/ and rename it to <name>/ to import it.',
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );

    const outcome = await Promise.race([
      shutdownSignal().then((signal) => ({ signal, error: undefined })),
      running.then(
        () => ({ signal: undefined, error: new Error('worker stopped unexpectedly') }),
        (error: Error) => ({ signal: undefined, error }),
      ),
    ]);
    if (outcome.error) throw outcome.error;
    log.info({ signal: outcome.signal }, 'stopping');
  } finally {
    await stopAll();
    log.info({}, 'stopped');
  }
}

async function openDatabase(
  config: CommandContext['config'],
  options: StartOptions,
  log: CommandContext['log'],
  stopping: Array<() => Promise<void>>,
): Promise<DatabaseHandle> {
  if (config.databaseUrl) {
    const database = openPostgres(config.databaseUrl);
    stopping.push(() => database.close());
    return database;
  }

  const unlock = lockEmbedded(config);
  stopping.push(async () => unlock());
  const database = await openPglite(pgliteDataDir(config));
  stopping.push(() => database.close());
  if (!database.pglite) throw new Error('embedded database handle has no PGlite instance');

  // Other commands (list, status, import) reach the embedded database through this loopback port,
  // so its files are never opened by a second process.
  const socketServer = new PGLiteSocketServer({
    db: database.pglite,
    host: '127.0.0.1',
    port: options.dbPort,
    maxConnections: 8,
  });
  await socketServer.start();
  const address = (socketServer as unknown as { server?: { address(): { port: number } } }).server?.address();
  const port = address?.port ?? options.dbPort;
  const infoFile = embeddedServerFile(config);
  fs.writeFileSync(infoFile, JSON.stringify({ pid: process.pid, host: '127.0.0.1', port }));
  stopping.push(async () => {
    fs.rmSync(infoFile, { force: true });
    await socketServer.stop();
  });
  log.info({ port }, 'embedded database served on loopback');
  return database;
}
