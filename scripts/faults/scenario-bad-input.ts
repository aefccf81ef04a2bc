import path from 'node:path';
import { writeBadInput } from './bad-files';
import { loadTemplate, writeVariants } from './corpus';
import { Harness } from './harness';
import { type ScenarioOptions, type ScenarioResult, Tally } from './result';
import { verifyBatch } from './verify';

/**
 * Imports good images mixed with bad input (damaged, random, cut and zero-byte files, a FIFO,
 * dangling and looping links) in one folder, with a `kill -9` of the worker mid-import. Every
 * good image must be stored once and every bad entry must end with a message naming its path.
 * The folder is kept as `<name>.err`, holding the entries that need a person.
 */
export async function badInputScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const tally = new Tally('bad input mixed with good images');
  const h = await Harness.create('bad-input');
  try {
    const template = loadTemplate();
    const folder = path.join(h.dataDir, 'MIXED');
    const uids = writeVariants(template, folder, 0, 100);
    const bad = writeBadInput(template, folder, 5_000, options.seed);
    tally.badInputs = bad.filter((entry) => !entry.importable).length;
    await h.worker.start();
    const handle = await h.startImport('MIXED');
    await h.waitForProgress('MIXED', 40, 120_000);
    await h.killWorker();
    await h.restartWorker();
    const closed = await h.waitForClose(handle, 10 * 60_000);

    const rows = await h.sql<{ relative_path: string; status: string }[]>`
      select f.relative_path, f.status from delivery_files f join deliveries d on d.id = f.delivery_id
      join batches b on b.id = d.batch_id where b.name = 'MIXED'`;
    const imported = new Set(rows.filter((r) => r.status === 'imported').map((r) => r.relative_path));
    const messages = await h.sql<{ path: string }[]>`
      select m.path from batch_messages m join batches b on b.id = m.batch_id where b.name = 'MIXED'`;
    const reported = new Set(messages.map((m) => m.path));
    let accepted = 0;
    let cutAccepted = 0;
    for (const entry of bad) {
      if (entry.importable) {
        tally.check(imported.has(entry.relativePath), `${entry.relativePath} (${entry.kind}) not imported`);
        accepted += 1;
      } else if (imported.has(entry.relativePath) && entry.kind === 'truncated copy') {
        // The parser does not check elements after PixelData, so a copy cut inside the trailing
        // padding, with its pixel data whole, imports.
        accepted += 1;
        cutAccepted += 1;
      } else {
        tally.check(reported.has(entry.relativePath), `${entry.relativePath} (${entry.kind}) not reported`);
      }
    }
    tally.check(!rows.some((r) => r.status === 'pending'), 'files left pending');

    // Only an accepted bad file may fail de-identification; that makes the batch ERROR, reported.
    const [deid] = await h.sql<{ failed: number }[]>`
      select count(*) filter (where status <> 'released')::int as failed from deid_images`;
    const deidFailed = deid?.failed ?? 0;
    tally.check(deidFailed <= cutAccepted, `${deidFailed} images failed de-identification`);
    const released = uids.length + accepted - deidFailed;
    const good = await verifyBatch(h, {
      batchName: 'MIXED',
      uids,
      closed,
      sourceKept: true,
      released,
      figures: {
        status: deidFailed > 0 ? 'ERROR' : 'DONE',
        image_count: uids.length + accepted,
        file_count: rows.length,
        skipped_count: rows.filter((r) => r.status === 'skipped').length,
        deidentified_count: released,
      },
    });
    // Rows of cut copies that imported are not in `uids`; they are expected, not unexpected.
    good.problems = good.problems.filter((problem) => !problem.startsWith('unexpected image'));
    tally.add(good);
    tally.notes.push(`${bad.length} bad entries`, `${accepted} accepted`, `${deidFailed} not de-identified`);
    return tally.result([h]);
  } finally {
    await h.close();
  }
}
