import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq, inArray } from 'drizzle-orm';
import {
  batchMessages,
  batches,
  conflicts,
  deliveries,
  deliveryFiles,
  images,
  series,
  studies,
} from '../src/db/schema';
import { MAX_DEPTH } from '../src/importer/walk';
import { writeBadInput } from '../scripts/faults/bad-files';
import { loadTemplate, variantUid, writeVariants } from '../scripts/faults/corpus';
import { type TestDatabase, createTestDatabase } from './helpers/db';
import { CORPUS, createTestDirs, listFiles } from './helpers/fixtures';
import { batchRow, importFolder, testWorker } from './helpers/pipeline';
import { createTestEnv } from './helpers/temporal';

const TINY = loadTemplate(path.join(CORPUS, 'studies/TINY_ALPHA/IM000000'));
let env: TestWorkflowEnvironment;
let database: TestDatabase;
let nextUid = 0;

before(async () => {
  env = await createTestEnv();
  database = await createTestDatabase('pglite');
});

after(async () => {
  await database?.dispose();
  await env?.teardown();
});

/** Writes a copy of the tiny template with a fresh SOPInstanceUID to `file`; returns the UID. */
function writeImage(file: string, template = TINY): string {
  const uid = variantUid(template, nextUid);
  nextUid += 1;
  const copy = Buffer.from(template.bytes);
  for (const offset of template.offsets) copy.write(uid, offset, 'latin1');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, copy);
  return uid;
}

async function runImport(dirs: ReturnType<typeof createTestDirs>, name: string, db = database) {
  const { worker, config } = await testWorker(env, dirs.config, db.handle.db);
  const result = await worker.runUntil(importFolder(env, config, name, path.join(config.dataDir, name)));
  const batch = await batchRow(db.handle.db, name);
  const messages = await db.handle.db
    .select()
    .from(batchMessages)
    .where(eq(batchMessages.batchId, batch?.id ?? -1));
  return { result, batch, messages: new Map(messages.map((m) => [m.path, m])) };
}

async function storedPaths(batchId: number): Promise<string[]> {
  const rows = await database.handle.db.select().from(images).where(eq(images.batchId, batchId));
  return rows.map((row) => row.sourcePath).sort();
}

test('broken and generated files each reported', async () => {
  const dirs = createTestDirs();
  try {
    const folder = path.join(dirs.config.dataDir, 'BAD');
    const good = [writeImage(path.join(folder, 'good-1.dcm')), writeImage(path.join(folder, 'good-2.dcm'))];
    const bad = writeBadInput(loadTemplate(), folder, 7_000, 7);
    execFileSync('mknod', [path.join(folder, 'bad', 'null-device'), 'c', '1', '3']);
    bad.push({ relativePath: 'bad/null-device', kind: 'device', level: 'entry' });

    const { result, messages } = await runImport(dirs, 'BAD');

    assert.equal(result.figures.imageCount >= good.length, true);
    for (const entry of bad.filter((e) => !e.importable)) {
      const imported = entry.kind === 'truncated copy' && !messages.has(entry.relativePath);
      if (imported) continue;
      assert.ok(messages.has(entry.relativePath), `${entry.relativePath} (${entry.kind}) reported`);
    }
    for (const entry of bad.filter((e) => e.level === 'entry')) {
      assert.match(messages.get(entry.relativePath)?.message ?? '', /not followed|not a regular file/);
    }
    assert.match(messages.get('bad/dangling-link')?.message ?? '', /dangling/);
    assert.match(messages.get('bad/loop-a')?.message ?? '', /loop/);
    assert.match(messages.get('bad/outside-link')?.message ?? '', /outside DATA_DIR/);
    assert.match(messages.get('bad/parent-link')?.message ?? '', /inside DATA_DIR/);
    assert.equal(result.source.action, 'renamed');
    assert.ok(fs.existsSync('/etc/hostname'), 'target outside DATA_DIR untouched');
  } finally {
    dirs.cleanup();
  }
});

test('odd names imported under their names', async () => {
  const dirs = createTestDirs();
  try {
    const folder = path.join(dirs.config.dataDir, 'NAMES');
    const names = [
      'with space.dcm',
      "it's \"quoted\".dcm",
      'new\nline.dcm',
      '$(touch pwned) `id`;.dcm',
      'ünïcødé 日本.dcm',
      `${'x'.repeat(250)}.dcm`,
      `${Array.from({ length: 14 }, (_, i) => `${i}`.padEnd(200, 'd')).join('/')}/long-path.dcm`,
      `${Array.from({ length: MAX_DEPTH - 1 }, (_, i) => `n${i}`).join('/')}/deep.dcm`,
    ];
    for (const name of names) writeImage(path.join(folder, name));
    // caf\xe9.dcm: Latin-1, not valid UTF-8.
    const latin1 = Buffer.from('636166e92e64636d', 'hex');
    fs.writeFileSync(Buffer.concat([Buffer.from(`${folder}/`), latin1]), fs.readFileSync(path.join(folder, names[0] as string)));
    fs.rmSync(path.join(folder, names[0] as string));
    writeImage(path.join(folder, names[0] as string));
    const tooDeep = `${Array.from({ length: MAX_DEPTH + 2 }, (_, i) => `m${i}`).join('/')}/too-deep.dcm`;
    writeImage(path.join(folder, tooDeep));

    const { result, batch, messages } = await runImport(dirs, 'NAMES');

    const expected = [...names, '{hex:636166e92e64636d}'].sort();
    assert.deepEqual(await storedPaths(batch?.id ?? -1), expected);
    const deepMessage = [...messages.values()].find((m) => /nested deeper/.test(m.message));
    assert.ok(deepMessage, 'too deep folder reported');
    assert.equal(deepMessage.level, 'error');
    assert.equal(result.figures.imageCount, names.length + 1);
    assert.equal(result.source.action, 'renamed');
    assert.deepEqual(listFiles(`${folder}.err`), [tooDeep]);
  } finally {
    dirs.cleanup();
  }
});

test('path longer than PATH_MAX reported', async () => {
  const dirs = createTestDirs();
  const folder = path.join(dirs.config.dataDir, 'LONG');
  try {
    writeImage(path.join(folder, 'short.dcm'));
    // Built with relative steps, since no single call may name a path over PATH_MAX.
    const component = 'd'.repeat(250);
    execFileSync('bash', ['-c', `cd "$1" && for i in $(seq 20); do mkdir "$2" && cd "$2"; done && : > f.dcm`, 'mk', folder, component]);

    const { result, messages } = await runImport(dirs, 'LONG');

    assert.equal(result.figures.imageCount, 1);
    const problem = [...messages.values()].find((m) => /ENAMETOOLONG|could not be/.test(m.message));
    assert.ok(problem, 'long path reported');
    assert.equal(problem.level, 'error');
    assert.equal(result.status, 'ERROR');
  } finally {
    execFileSync('rm', ['-rf', dirs.root]);
  }
});

test('same SOPInstanceUID in parallel folders', async () => {
  const dirs = createTestDirs();
  try {
    const first = nextUid;
    const uids = writeVariants(TINY, path.join(dirs.config.dataDir, 'P1'), first, 20);
    writeVariants(TINY, path.join(dirs.config.dataDir, 'P2'), first, 20);
    writeVariants(TINY, path.join(dirs.config.dataDir, 'P3'), first, 20);
    nextUid += 20;
    // Other bytes, same UIDs: the last byte of each copy in P3 differs.
    for (const file of listFiles(path.join(dirs.config.dataDir, 'P3'))) {
      const full = path.join(dirs.config.dataDir, 'P3', file);
      const bytes = fs.readFileSync(full);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
      fs.writeFileSync(full, bytes);
    }
    const { worker, config } = await testWorker(env, dirs.config, database.handle.db);

    const results = await worker.runUntil(
      Promise.all(['P1', 'P2', 'P3'].map((name) => importFolder(env, config, name, path.join(config.dataDir, name)))),
    );

    const db = database.handle.db;
    const rows = (await db.select().from(images)).filter((row) => uids.includes(row.SOPInstanceUID));
    assert.equal(rows.length, 20);
    const kept = (await db.select().from(conflicts)).filter((row) => uids.includes(row.SOPInstanceUID));
    assert.equal(kept.length, 20, 'one kept-aside copy per UID for the other bytes');
    const statuses = await db
      .select({ status: deliveryFiles.status })
      .from(deliveryFiles)
      .innerJoin(deliveries, eq(deliveries.id, deliveryFiles.deliveryId))
      .innerJoin(batches, eq(batches.id, deliveries.batchId))
      .where(inArray(batches.name, ['P1', 'P2', 'P3']));
    const counts = { imported: 0, duplicate: 0, conflict: 0 } as Record<string, number>;
    for (const { status } of statuses) counts[status] = (counts[status] ?? 0) + 1;
    // Which folder wins a UID is a race; exactly one copy is imported and the rest are accounted.
    assert.equal(counts.imported, 20);
    assert.equal((counts.duplicate ?? 0) + (counts.conflict ?? 0), 40);
    assert.ok((counts.conflict ?? 0) >= 20, 'every copy with other bytes is a conflict');
    const copies = listFiles(config.mediaDir).filter((f) => f.endsWith('.dcm') && !f.startsWith('conflicts'));
    assert.equal(copies.length, 20);
    assert.equal(results.every((r) => r.figures.imageCount + r.figures.conflictCount === 20), true);
  } finally {
    dirs.cleanup();
  }
});

test('NUL inside a header value imports', async () => {
  const dirs = createTestDirs();
  // Its own database, so the study row is inserted here and not found from an earlier test.
  const own = await createTestDatabase('pglite');
  try {
    const file = path.join(dirs.config.dataDir, 'NUL', 'nul.dcm');
    writeImage(file);
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf(Buffer.from('Citizen^Jan'));
    bytes[at + 3] = 0;
    fs.writeFileSync(file, bytes);

    const { result, batch } = await runImport(dirs, 'NUL', own);

    assert.equal(result.figures.imageCount, 1);
    const [row] = await own.handle.db
      .select({ PatientName: studies.PatientName })
      .from(images)
      .innerJoin(series, eq(series.id, images.seriesId))
      .innerJoin(studies, eq(studies.id, series.studyId))
      .where(eq(images.batchId, batch?.id ?? -1));
    assert.equal(row?.PatientName, 'Citzen^Jan');
  } finally {
    dirs.cleanup();
    await own.dispose();
  }
});

test('tens of thousands of files in one folder', async (t) => {
  const dirs = createTestDirs();
  try {
    const folder = path.join(dirs.config.dataDir, 'MANY');
    fs.mkdirSync(folder);
    const count = 20_000;
    for (let i = 0; i < count; i += 1) fs.writeFileSync(path.join(folder, `f${i}`), `not DICOM ${i}`);
    writeImage(path.join(folder, 'image.dcm'));
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;

    const { result } = await runImport(dirs, 'MANY');

    gc();
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 ** 2;
    t.diagnostic(`heap growth ${heapGrowthMb.toFixed(0)} MB over ${count} files`);
    assert.equal(result.figures.fileCount, count + 1);
    assert.equal(result.figures.imageCount, 1);
    assert.equal(result.figures.skippedCount, count);
    assert.equal(result.source.action, 'removed');
    assert.ok(heapGrowthMb < 200, `heap grew ${heapGrowthMb.toFixed(0)} MB`);
  } finally {
    dirs.cleanup();
  }
});
