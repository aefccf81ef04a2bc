import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { deliveryFiles } from '../src/db/schema';
import { seededRandom } from '../scripts/faults/result';
import { type TestDatabase, createTestDatabase } from './helpers/db';
import { CORPUS, createTestDirs } from './helpers/fixtures';
import { importFolder, testWorker } from './helpers/pipeline';
import { createTestEnv } from './helpers/temporal';

const SEED = 4_2026;
const MUTATIONS = 1_000;
/** Per-file limit for parse plus de-identification; a few ms is usual, seconds mean a hang. */
const FILE_LIMIT_MS = 5_000;
const WORKER = path.resolve(__dirname, '../scripts/faults/fuzz-worker.cjs');

const SOURCES = [
  'studies/TINY_ALPHA/IM000000',
  'studies/77654033/CR1/6154',
  'studies/98892001/CT2N/6293',
  'single/CT_small.dcm',
  'single/MR_small_RLE.dcm',
  'single/MR_small_bigendian.dcm',
  'single/JPEG2000.dcm',
  'single/ExplVR_LitEndNoMeta.dcm',
];

/** Byte flips (mostly in the header, where the parser decides) and truncations of real files. */
function mutations(): Buffer[] {
  const random = seededRandom(SEED);
  const originals = SOURCES.map((file) => fs.readFileSync(path.join(CORPUS, file)));
  const out: Buffer[] = [];
  for (let i = 0; i < MUTATIONS; i += 1) {
    const original = originals[Math.floor(random() * originals.length)] as Buffer;
    let bytes = Buffer.from(original);
    const kind = random();
    if (kind < 0.75) {
      const flips = 1 + Math.floor(random() * 8);
      const span = random() < 0.8 ? Math.min(bytes.length, 1_024) : bytes.length;
      for (let f = 0; f < flips; f += 1) {
        const at = Math.floor(random() * span);
        bytes[at] = (bytes[at] as number) ^ (1 + Math.floor(random() * 255));
      }
    }
    if (kind >= 0.5) bytes = bytes.subarray(0, Math.floor(random() * bytes.length));
    out.push(bytes);
  }
  return out;
}

interface Timing {
  outcome: string;
  ms: number;
  error?: string;
}

/** Runs each buffer through parse and de-identification in a worker thread, one at a time. */
async function fuzz(buffers: Buffer[]) {
  const stats = {
    hangs: 0,
    parseThrows: [] as string[],
    deidThrows: 0,
    slowestMs: 0,
    outcomes: {} as Record<string, number>,
  };
  let worker = new Worker(WORKER);
  for (const bytes of buffers) {
    const reply = await new Promise<{ parse: Timing; deid?: Timing } | 'timeout'>((resolve, reject) => {
      const timer = setTimeout(() => resolve('timeout'), FILE_LIMIT_MS);
      worker.once('message', (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      worker.once('error', reject);
      worker.postMessage({ bytes });
    });
    worker.removeAllListeners('error');
    if (reply === 'timeout') {
      stats.hangs += 1;
      await worker.terminate();
      worker = new Worker(WORKER);
      continue;
    }
    stats.slowestMs = Math.max(stats.slowestMs, reply.parse.ms + (reply.deid?.ms ?? 0));
    stats.outcomes[reply.parse.outcome] = (stats.outcomes[reply.parse.outcome] ?? 0) + 1;
    if (reply.parse.outcome === 'throw') stats.parseThrows.push(reply.parse.error ?? '');
    if (reply.deid?.outcome === 'throw') stats.deidThrows += 1;
  }
  await worker.terminate();
  return stats;
}

let env: TestWorkflowEnvironment;
let database: TestDatabase;

before(async () => {
  env = await createTestEnv();
  database = await createTestDatabase('pglite');
});

after(async () => {
  await database?.dispose();
  await env?.teardown();
});

test('fuzzed files parse within the time limit', async (t) => {
  const baselineRssMb = Math.round(process.memoryUsage().rss / 1024 ** 2);
  const stats = await fuzz(mutations());
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  t.diagnostic(`outcomes ${JSON.stringify(stats.outcomes)}, de-identification errors ${stats.deidThrows}`);
  t.diagnostic(`slowest file ${stats.slowestMs.toFixed(1)} ms, peak RSS ${peakRssMb} MB (${baselineRssMb} MB before)`);

  assert.equal(stats.hangs, 0, 'files over the per-file time limit');
  assert.deepEqual(stats.parseThrows, [], 'parseDicom threw instead of returning a skip reason');
  // The baseline holds PGlite and the test environment; the fuzz run itself must stay small.
  assert.ok(peakRssMb - baselineRssMb < 256, `RSS grew from ${baselineRssMb} to ${peakRssMb} MB`);
});

test('fuzzed folder imports to the end', async () => {
  const dirs = createTestDirs();
  try {
    const folder = path.join(dirs.config.dataDir, 'FUZZ');
    fs.mkdirSync(folder);
    for (const [index, bytes] of mutations().slice(0, 200).entries()) {
      fs.writeFileSync(path.join(folder, `m${String(index).padStart(4, '0')}`), bytes);
    }
    const { worker, config } = await testWorker(env, dirs.config, database.handle.db);

    const result = await worker.runUntil(importFolder(env, config, 'FUZZ', folder));

    assert.ok(['DONE', 'ERROR', 'EMPTY'].includes(result.status), `status ${result.status}`);
    assert.equal(result.figures.fileCount, 200);
    const pending = await database.handle.db
      .select()
      .from(deliveryFiles)
      .where(eq(deliveryFiles.status, 'pending'));
    assert.equal(pending.length, 0, 'files left pending');
  } finally {
    dirs.cleanup();
  }
});
