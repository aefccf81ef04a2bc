import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseDicom } from '../src/dicom/parse';
import { Harness } from '../scripts/faults/harness';
import { CORPUS, copyCorpusFolder, listFiles } from './helpers/fixtures';

/** Values shorter than this are not searched: they occur by chance in ids and timestamps. */
const MIN_SEARCHED_LENGTH = 4;

/** PatientName (and its longer components), PatientID, PatientBirthDate and AccessionNumber. */
function identifiersOf(folder: string): Set<string> {
  const values = new Set<string>();
  for (const file of listFiles(folder)) {
    const full = path.join(folder, file);
    const parsed = parseDicom(fs.readFileSync(full));
    if (parsed.outcome !== 'import') continue;
    const { PatientName, PatientID, AccessionNumber } = parsed.values;
    const birth = execFileSync('dcmdump', ['+P', 'PatientBirthDate', full], { encoding: 'utf8' });
    const candidates = [PatientName, PatientID, AccessionNumber, /\[(\d+)\]/.exec(birth)?.[1] ?? ''];
    candidates.push(...PatientName.split(/[\^=]/).filter((part) => part.length > MIN_SEARCHED_LENGTH));
    for (const value of candidates) if (value.length >= MIN_SEARCHED_LENGTH) values.add(value);
  }
  return values;
}

/** JSON of a history or description, with payload bytes decoded as text so values are visible. */
function visibleJson(value: unknown): string {
  return JSON.stringify(value, (_key, item) => {
    if (item instanceof Uint8Array) return Buffer.from(item).toString('utf8');
    if (typeof item === 'bigint') return String(item);
    return item;
  });
}

let h: Harness;

before(async () => {
  h = await Harness.create('privacy', { LOG_LEVEL: 'debug' });
});

after(async () => {
  await h?.close();
});

test('corpus identifiers stay out of logs and histories', async () => {
  const studies = fs.readdirSync(path.join(CORPUS, 'studies'));
  const searched = new Set<string>();
  // Neutral folder names: the product's own folder names are accession numbers, see docs/faults.md.
  for (const [index, study] of studies.entries()) {
    copyCorpusFolder(`studies/${study}`, path.join(h.dataDir, `S${index}`));
    for (const value of identifiersOf(path.join(h.dataDir, `S${index}`))) searched.add(value);
  }
  await h.worker.start();
  const handles = await Promise.all(studies.map((_study, index) => h.startImport(`S${index}`)));
  for (const handle of handles) {
    const closed = await h.waitForClose(handle, 5 * 60_000);
    assert.equal(closed.status, 'COMPLETED', `${handle.workflowId} completed`);
  }
  await h.worker.stop('SIGTERM');

  const texts: Array<[string, string]> = [['worker log', fs.readFileSync(h.worker.logFile, 'utf8')]];
  for await (const execution of h.client.workflow.list()) {
    const handle = h.client.workflow.getHandle(execution.workflowId, execution.runId);
    texts.push([`history of ${execution.workflowId}`, visibleJson(await handle.fetchHistory())]);
    texts.push([`description of ${execution.workflowId}`, visibleJson(await handle.describe())]);
  }

  assert.ok(searched.has('Doe^Archibald'), 'a corpus PatientName is among the searched values');
  assert.ok(searched.size >= 6, `searched values: ${searched.size}`);
  assert.ok(texts.length >= 1 + 2 * studies.length, 'every import and child workflow read');
  for (const [where, text] of texts) {
    for (const value of searched) {
      assert.equal(text.includes(value), false, `${where} contains ${JSON.stringify(value)}`);
    }
  }
});
