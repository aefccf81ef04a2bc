// Prints the worker's resident memory after each step of its start, in one plain `node` process
// that loads the compiled code in dist/ (run `npm run build` first). It needs a Temporal server at
// TEMPORAL_ADDRESS and a migrated Postgres database at DATABASE_URL:
//
//   TEMPORAL_ADDRESS=127.0.0.1:7233 DATABASE_URL=postgres://... \
//     node --expose-gc scripts/bench/startup-memory.cjs [--bundle-at-start]
//
// --bundle-at-start runs webpack in the process, as a worker without the prebuilt bundle does.
const fs = require('node:fs');
const path = require('node:path');

const DIST = path.resolve(__dirname, '../../dist');
const bundleAtStart = process.argv.includes('--bundle-at-start');

let previous = 0;

function residentMb() {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]) / 1024;
}

/** Prints VmRSS, its growth since the previous step and the V8 heap figures, in MiB. */
function step(name) {
  const rss = residentMb();
  const usage = process.memoryUsage();
  const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1).padStart(6);
  const growth = `${rss >= previous ? '+' : '-'}${Math.abs(rss - previous).toFixed(1)}`.padStart(6);
  process.stdout.write(
    `${name.padEnd(36)} VmRSS ${rss.toFixed(1).padStart(6)} (${growth})` +
      `  heap used ${mb(usage.heapUsed)} of ${mb(usage.heapTotal)}  external ${mb(usage.external)}\n`,
  );
  previous = rss;
}

async function main() {
  for (const name of ['TEMPORAL_ADDRESS', 'DATABASE_URL']) {
    if (!process.env[name]) {
      throw new Error(`${name} is missing: see the usage at the top of ${__filename}`);
    }
  }
  step('node');
  require('pino');
  step('pino');
  const { loadConfig } = require(`${DIST}/src/config.js`);
  step('zod and the configuration');
  const { openPostgres } = require(`${DIST}/src/db/client.js`);
  step('postgres.js, Drizzle and the schema');
  require('@electric-sql/pglite');
  require('drizzle-orm/pglite');
  step('PGlite and its Drizzle driver');
  require('dicom-parser');
  step('dicom-parser');
  require('@temporalio/client');
  step('@temporalio/client');
  const { NativeConnection, Runtime, Worker } = require('@temporalio/worker');
  step('@temporalio/worker');
  Runtime.install({ logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
  step('Runtime.install');
  const { createActivities } = require(`${DIST}/activities/index.js`);
  step('activities');
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS });
  step('NativeConnection.connect');

  const bundles = require(`${DIST}/src/temporal/workflow-bundle.js`);
  let workflowBundle;
  if (bundleAtStart) {
    workflowBundle = await bundles.bundleAtStart();
    step('workflow bundle made with webpack');
  } else {
    const prebuilt = bundles.findPrebuiltBundle(DIST);
    if (prebuilt.status !== 'current') {
      throw new Error(`no current prebuilt bundle in ${DIST} (${prebuilt.status}): run npm run build`);
    }
    workflowBundle = { codePath: prebuilt.codePath };
    step('prebuilt workflow bundle found');
  }
  global.gc?.();
  step('garbage collection');

  const database = openPostgres(process.env.DATABASE_URL);
  const worker = await Worker.create({
    connection,
    taskQueue: `startup-memory-${process.pid}`,
    workflowBundle,
    activities: createActivities({ db: database.db, config: loadConfig() }),
  });
  step('Worker.create (workflow thread)');
  const running = worker.run();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  step('worker running for 3 s');
  global.gc?.();
  step('garbage collection');

  worker.shutdown();
  await running;
  await connection.close();
  await database.close();
}

main().catch((error) => {
  process.stderr.write(`startup-memory: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
