#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { openDatabaseForCommand } from '../db/open';
import { BATCH_STATUSES } from '../db/schema';
import { installRuntimeLogger } from '../temporal/runtime-logger';
import { createWorker } from '../temporal/worker';
import { type BatchFilter, parseDateOption, parseStatusOption } from './batch-filters';
import { runList } from './batches';
import { runImport } from './import';
import { runInspect } from './inspect';
import { runPseudonyms } from './pseudonyms';
import { runReport } from './report';
import { runRetry } from './retry';
import { commandContext, shutdownSignal } from './runtime';
import { runStart } from './start';
import { runStatus } from './status';
import { watchDataDir } from './watch';

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new InvalidArgumentError(`${value} is not a TCP port number`);
  }
  return parsed;
}

/** Adds the `--status`, `--since` and `--until` filters of `list` and `report`. */
function withBatchFilters(command: Command): Command {
  return command
    .option(
      '--status <status>',
      `only batches with this status (${BATCH_STATUSES.join(', ')})`,
      parseStatusOption,
    )
    .option(
      '--since <date>',
      'only batches started at or after this day (YYYY-MM-DD, UTC) or ISO 8601 time',
      parseDateOption,
    )
    .option(
      '--until <date>',
      'only batches started before this day (YYYY-MM-DD, UTC) or ISO 8601 time',
      parseDateOption,
    );
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
    installRuntimeLogger(log);
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
  .description('show the phase, figures, last errors and Temporal UI link of one batch')
  .argument('<folder>', 'batch (folder) name')
  .action(async (folder: string) => {
    await runStatus(commandContext('status'), folder);
  });

withBatchFilters(program.command('list'))
  .description('list batches, newest first')
  .option('--json', 'print a JSON array of batches')
  .action(async (options: BatchFilter & { json?: boolean }) => {
    await runList(commandContext('list'), options);
  });

program
  .command('retry')
  .description(
    'retry a batch: send the retry decision when its import waits on failed files, ' +
      'or start a new import when the last one ended with errors or failed',
  )
  .argument('<folder>', 'batch (folder) name')
  .action(async (folder: string) => {
    await runRetry(commandContext('retry'), folder);
  });

withBatchFilters(program.command('report'))
  .description(
    'print one row per batch: name, status, images, series, bytes, start, finish, seconds, warnings',
  )
  .addOption(new Option('--format <format>', 'output format').choices(['tsv']).default('tsv'))
  .action(async (options: BatchFilter & { format: 'tsv' }) => {
    await runReport(commandContext('report'), options);
  });

program
  .command('inspect')
  .description('parse files with the importer and print what an import would store or skip')
  .argument('<path...>', 'files to parse')
  .option('--json', 'print a JSON array, one entry per file')
  .action(async (paths: string[], options: { json?: boolean }) => {
    await runInspect(paths, options);
  });

program
  .command('pseudonyms')
  .description(
    'print the pseudonym and date offset of each original PatientID; the output contains ' +
      'patient identifiers, so run it only as a user authorized to see them',
  )
  .option('--patient-id <id>', 'only the patient with this original PatientID')
  .option('--pseudonym <pseudonym>', 'only the patient with this pseudonym')
  .option('--json', 'print a JSON array')
  .action(async (options: { patientId?: string; pseudonym?: string; json?: boolean }) => {
    await runPseudonyms(commandContext('pseudonyms'), options);
  });

/**
 * Formats an error and its causes as one line. A failed database query keeps the SQL in its message, so
 * for those the cause (such as a refused connection) replaces it.
 */
function describeError(error: Error): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const message = current.message.startsWith('Failed query:') ? 'database query failed' : current.message;
    parts.push(message.split('\n')[0] ?? message);
    current = current.cause;
  }
  return parts.join(': ');
}

program.parseAsync(process.argv).then(
  () => process.exit(process.exitCode ?? 0),
  (error: Error) => {
    process.stderr.write(`dicom-import: ${describeError(error)}\n`);
    process.exit(1);
  },
);
