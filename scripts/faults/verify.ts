import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Harness } from './harness';

export interface Verdict {
  lost: number;
  duplicated: number;
  problems: string[];
}

export interface Expectation {
  batchName: string;
  /** SOPInstanceUIDs the batch must hold, each exactly once. */
  uids: string[];
  deliveries?: number;
  /** Batch columns whose expected value differs from a clean batch's (snake_case names). */
  figures?: Record<string, unknown>;
  /** Images de-identified and released; the default is every expected image. */
  released?: number;
  /** The source folder is renamed `<name>.err` instead of removed. */
  sourceKept?: boolean;
  /** Workflow status name and result of the import, from Harness.waitForClose. */
  closed: { status: string; result: unknown };
}

/** Lists every file under `root`, relative to it, without following links. */
export function filesUnder(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else out.push(path.relative(root, full));
    }
  };
  if (fs.existsSync(root)) visit(root);
  return out;
}

/** Temporary files of the product left anywhere under the folders. */
export function leftoverTempFiles(...roots: string[]): string[] {
  return roots.flatMap((root) =>
    filesUnder(root)
      .filter((file) => path.basename(file).startsWith('.dicom-import-'))
      .map((file) => path.join(root, file)),
  );
}

/**
 * Checks one imported batch: every expected image exactly once in `images` and in media storage,
 * each copy matching its row, de-identified once, no temporary files, figures and status right.
 */
export async function verifyBatch(h: Harness, expected: Expectation): Promise<Verdict> {
  const problems: string[] = [];
  const result = expected.closed.result as { status?: string } | undefined;
  if (expected.closed.status !== 'COMPLETED') problems.push(`workflow ${expected.closed.status}`);
  const status = expected.figures?.status ?? 'DONE';
  if (result?.status !== status) problems.push(`workflow result status ${result?.status}`);

  const rows = await h.sql<{ sop: string; media: string; sha: string }[]>`
    select i.sop_instance_uid as sop, i.media_path as media, i.sha256 as sha
    from images i join batches b on b.id = i.batch_id where b.name = ${expected.batchName}`;
  const bySop = new Map(rows.map((row) => [row.sop, row]));
  const everySop = new Set(
    (await h.sql<{ sop: string }[]>`select sop_instance_uid as sop from images`).map((row) => row.sop),
  );
  const wanted = new Set(expected.uids);

  const media = filesUnder(h.mediaDir).filter((file) => file.endsWith('.dcm'));
  const mediaCount = new Map<string, number>();
  for (const file of media) {
    const sop = path.basename(file, '.dcm');
    mediaCount.set(sop, (mediaCount.get(sop) ?? 0) + 1);
    if (!everySop.has(sop) && !file.startsWith('conflicts')) problems.push(`media file without row: ${file}`);
  }

  let lost = 0;
  let duplicated = rows.length - bySop.size;
  for (const uid of expected.uids) {
    const row = bySop.get(uid);
    const copies = mediaCount.get(uid) ?? 0;
    if (!row || copies === 0) lost += 1;
    if (copies > 1) duplicated += copies - 1;
    if (row && copies > 0) {
      const bytes = fs.readFileSync(path.join(h.mediaDir, row.media));
      if (createHash('sha256').update(bytes).digest('hex') !== row.sha) {
        problems.push(`media copy of ${uid} does not match its row`);
      }
    }
  }
  for (const row of rows) if (!wanted.has(row.sop)) problems.push(`unexpected image ${row.sop}`);

  const [conflicts] = await h.sql<{ n: number }[]>`select count(*)::int as n from conflicts`;
  duplicated += conflicts?.n ?? 0;

  const [batch] = await h.sql<Record<string, unknown>[]>`
    select * from batches where name = ${expected.batchName}`;
  const figures: Record<string, unknown> = {
    status: 'DONE',
    image_count: expected.uids.length,
    file_count: expected.uids.length,
    failed_count: 0,
    skipped_count: 0,
    duplicate_count: 0,
    conflict_count: 0,
    deidentified_count: expected.uids.length,
    delivery_count: expected.deliveries ?? 1,
    ...expected.figures,
  };
  for (const [column, value] of Object.entries(figures)) {
    if (batch?.[column] !== value) problems.push(`batch ${column} is ${batch?.[column]}, expected ${value}`);
  }

  const [deid] = await h.sql<{ n: number; paths: number }[]>`
    select count(*)::int as n, count(distinct path)::int as paths from deid_images i
    join batches b on b.id = i.batch_id where b.name = ${expected.batchName} and i.status = 'released'`;
  const deidFiles = filesUnder(h.deidDir).filter((file) => file.endsWith('.dcm')).length;
  const released = expected.released ?? expected.uids.length;
  if (deid?.n !== released) problems.push(`${deid?.n} de-identified rows, expected ${released}`);
  if (deid?.paths !== deid?.n) problems.push('two de-identified rows share a path');

  const temps = leftoverTempFiles(h.mediaDir, h.deidDir);
  if (temps.length > 0) problems.push(`${temps.length} temporary files left, first ${temps[0]}`);
  if (fs.existsSync(path.join(h.dataDir, expected.batchName))) problems.push('source folder still there');
  const errFolder = fs.existsSync(path.join(h.dataDir, `${expected.batchName}.err`));
  if (errFolder !== (expected.sourceKept ?? false)) problems.push(`folder ${expected.batchName}.err: ${errFolder}`);
  if (deidFiles < released) problems.push(`only ${deidFiles} de-identified files`);
  return { lost, duplicated, problems };
}
