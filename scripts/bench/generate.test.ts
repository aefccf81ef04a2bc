import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseDicom } from '../../src/dicom/parse';
import { SOURCE_IMAGE, generateFolder, verifyWithDcmdump } from './generate';
import { median } from './stats';

async function generatedHeaders(files: number, series: number) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-generate-test-'));
  const generated = await generateFolder({ files, series, studies: 1, folder: path.join(dir, 'f') });
  const headers = [];
  for (const folder of await fs.readdir(generated.folder)) {
    for (const name of await fs.readdir(path.join(generated.folder, folder))) {
      const file = path.join(generated.folder, folder, name);
      const bytes = await fs.readFile(file);
      const parsed = parseDicom(bytes);
      assert.equal(parsed.outcome, 'import', `${file} is not importable`);
      if (parsed.outcome === 'import') headers.push({ file, size: bytes.length, ...parsed.values });
    }
  }
  return { dir, generated, headers };
}

test('generated folder has unique UIDs', async () => {
  const { dir, generated, headers } = await generatedHeaders(6, 2);
  const template = await fs.stat(SOURCE_IMAGE);

  assert.equal(headers.length, 6);
  assert.equal(new Set(headers.map((h) => h.SOPInstanceUID)).size, 6);
  assert.equal(new Set(headers.map((h) => h.SeriesInstanceUID)).size, 2);
  assert.equal(new Set(headers.map((h) => h.StudyInstanceUID)).size, 1);
  assert.ok(headers.every((h) => h.size === template.size), 'a copy changed size');
  assert.equal(generated.bytes, 6 * template.size);
  await fs.rm(dir, { recursive: true });
});

test('generated file passes dcmdump', async () => {
  const { dir, generated, headers } = await generatedHeaders(2, 1);

  const uid = verifyWithDcmdump(path.join(generated.folder, generated.sample));
  assert.ok(headers.some((h) => h.SOPInstanceUID === uid), `${uid} is not a generated UID`);
  await fs.rm(dir, { recursive: true });
});

test('two runs share no UID', async () => {
  const first = await generatedHeaders(1, 1);
  const second = await generatedHeaders(1, 1);

  assert.notEqual(first.headers[0]?.SOPInstanceUID, second.headers[0]?.SOPInstanceUID);
  assert.notEqual(first.headers[0]?.StudyInstanceUID, second.headers[0]?.StudyInstanceUID);
  await fs.rm(first.dir, { recursive: true });
  await fs.rm(second.dir, { recursive: true });
});

test('median of odd and even counts', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});
