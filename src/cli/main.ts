#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { openDatabaseForCommand } from '../db/open';
import { createWorker } from '../temporal/worker';
import { runImport, runList, runStatus } from './batches';
import { runInspect } from './inspect';
import { commandContext, shutdownSignal } from './runtime';
import { runStart } from './start';
import { watchDataDir } from './watch';

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new InvalidArgumentError(`${value} is not a TCP port number`);
  }
  return parsed;
}

const program = new Command()
  .name('dicom-import')
  .description('Import DICOM studies from a watched folder through durable Temporal workflows.')
  .showHelpAfterError();

program
  .command('start')
  .description(
    'run everything on one machine: Temporal dev server and UI, database, migrations, worker and watcher',
  )
  .option('--port <port>', 'Temporal frontend port on 127.0.0.1', port, 7233)
  .option('--ui-port <port>', 'Temporal UI port on 127.0.0.1 (default: TEMPORAL_UI_PORT or 8233)', port)
  .option('--db-port <port>', 'loopback port serving the embedded database to other commands; 0 picks one', port, 0)
  .action(async (options: { port: number; uiPort?: number; dbPort: number }) => {
    const context = commandContext('start');
    await runStart(context, {
      port: options.port,
      uiPort: options.uiPort ?? context.config.temporalUiPort,
      dbPort: options.dbPort,
    });
  });

program
  .command('worker')
  .description('run a worker: the import and deidentify workflows and their activities')
  .action(async () => {
    const { config, log } = commandContext('worker');
    const database = await openDatabaseForCommand(config);
    try {
      const connection = await NativeConnection.connect({ address: config.temporalAddress });
      const worker = await createWorker({ config, db: database.db, connection });
      // The SDK already begins a graceful shutdown on SIGINT and SIGTERM; this only logs it.
      void shutdownSignal().then((signal) => {
        log.info({ signal }, 'worker stopping');
        if (worker.getState() === 'RUNNING') worker.shutdown();
      });
      log.info({ taskQueue: config.taskQueue, address: config.temporalAddress }, 'worker started');
      await worker.run();
      await connection.close();
      log.info({}, 'worker stopped');
    } finally {
      await database.close();
    }
  });

program
  .command('watch')
  .description('watch DATA_DIR and start one import workflow per finished folder')
  .action(async () => {
    const { config, log } = commandContext('watch');
    const connection = await Connection.connect({ address: config.temporalAddress });
    const client = new Client({ connection, namespace: config.temporalNamespace });
    const watcher = watchDataDir(config, client, log);
    await watcher.ready;
    log.info({ dataDir: config.dataDir }, 'watcher started');
    const signal = await shutdownSignal();
    log.info({ signal }, 'watcher stopping');
    await watcher.close();
    await connection.close();
  });

program
  .command('migrate')
  .description('apply the database migrations')
  .action(async () => {
    const { config, log } = commandContext('migrate');
    const database = await openDatabaseForCommand(config);
    try {
      await database.migrate();
      log.info({ kind: database.kind }, 'database migrated');
    } finally {
      await database.close();
    }
  });

program
  .command('import')
  .description('start the import of one folder by hand (a path, or a folder name under DATA_DIR)')
  .argument('<folder>', 'folder to import')
  .option('--wait', 'print progress and wait until the import has finished')
  .action(async (folder: string, options: { wait?: boolean }) => {
    await runImport(commandContext('import'), folder, options);
  });

program
  .command('status')
  .description('show the status, figures and last messages of one batch')
  .argument('<folder>', 'batch (folder) name')
  .action(async (folder: string) => {
    await runStatus(commandContext('status'), folder);
  });

program
  .command('list')
  .description('list batches')
  .option('--json', 'print a JSON array of batches')
  .action(async (options: { json?: boolean }) => {
    await runList(commandContext('list'), options);
  });

program
  .command('inspect')
  .description('parse files with the importer and print what an import would store or skip')
  .argument('<path...>', 'files to parse')
  .option('--json', 'print a JSON array, one entry per file')
  .action(async (paths: string[], options: { json?: boolean }) => {
    await runInspect(paths, options);
  });

program.parseAsync(process.argv).then(
  () => process.exit(process.exitCode ?? 0),
  (error: Error) => {
    process.stderr.write(`dicom-import: ${error.message}\n`);
    process.exit(1);
  },
);
