import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { profileVr } from '../src/deid/actions';
import { deidentify, type DeidentifyOptions, readSourceImage } from '../src/deid/deidentify';
import { ImageBuffers } from '../src/deid/image-buffers';
import { loadDeidProfile } from '../src/deid/profile-config';
import { parseElementTree } from '../src/dicom/element-tree';
import { readDicom } from '../src/dicom/read';
import { writePart10 } from '../src/dicom/write';
import { CORPUS } from './helpers/fixtures';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-buffers-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

const options: DeidentifyOptions = {
  uidSecret: Buffer.from('test secret'),
  patientPseudonym: 'PSEUDO0001',
  dateOffsetDays: 30,
  profile: loadDeidProfile(),
};

// Largest first, so that every later file fits into the memory of an earlier, longer one.
const CORPUS_FILES = [
  'ct/CT0012.explicit_little_endian.dcm',
  'ct/CT1_UNC.explicit_big_endian.dcm',
  'ct/CT1_UNC.implicit_little_endian.dcm',
  'ct/CT0012.fragmented_no_bot_jpeg_ls.80.dcm',
  'single/CT_small.dcm',
];

test('reused buffers give identical output', async () => {
  const buffers = new ImageBuffers();
  let outputMemory: ArrayBufferLike | undefined;
  for (const relative of CORPUS_FILES) {
    const file = path.join(CORPUS, relative);
    const expected = deidentify(fs.readFileSync(file), options).bytes;
    const source = await buffers.readFile('source', file);
    assert.ok(source.equals(fs.readFileSync(file)), `${relative}: source bytes`);
    const reused = deidentify(readSourceImage(source), {
      ...options,
      allocateOutput: (length) => buffers.take('output', length),
    }).bytes;
    assert.equal(reused.length, expected.length, `${relative}: length`);
    assert.ok(reused.equals(expected), `${relative}: bytes`);
    outputMemory ??= reused.buffer;
    assert.equal(reused.buffer, outputMemory, `${relative}: written into the first file's memory`);
  }
});

test('slot grows, then keeps its memory', async () => {
  const buffers = new ImageBuffers();
  const contents = [randomBytes(1000), randomBytes(10), randomBytes(4000), randomBytes(0)];
  const read: Buffer[] = [];
  for (const [index, bytes] of contents.entries()) {
    const file = path.join(scratch, `file-${index}`);
    fs.writeFileSync(file, bytes);
    read.push(await buffers.readFile('check', file));
    assert.ok(read[index]!.equals(bytes), `file ${index}: ${read[index]!.length} bytes`);
  }
  assert.equal(read[1]!.buffer, read[0]!.buffer, 'the 10 bytes reuse the memory of the 1000');
  assert.notEqual(read[2]!.buffer, read[0]!.buffer, 'the 4000 bytes need new memory');
  assert.equal(read[3]!.buffer, read[2]!.buffer, 'the empty file reuses the memory of the 4000');
});

test('readFile rejects a folder', async () => {
  await assert.rejects(new ImageBuffers().readFile('source', scratch), {
    message: `${scratch} is not a regular file`,
  });
});

test('writePart10 rejects a short buffer', () => {
  const tree = parseElementTree(
    readDicom(fs.readFileSync(path.join(CORPUS, 'single/CT_small.dcm'))),
    profileVr,
  );
  const meta = { MediaStorageSOPClassUID: '1.2.3', MediaStorageSOPInstanceUID: '1.2.3.4' };
  const length = writePart10(tree, meta).length;
  assert.throws(() => writePart10(tree, meta, () => Buffer.alloc(length - 1)), {
    message: `output buffer of ${length - 1} bytes is too small for ${length}`,
  });
  assert.equal(writePart10(tree, meta, () => Buffer.alloc(length + 7)).length, length);
});
