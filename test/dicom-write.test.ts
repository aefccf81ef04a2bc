import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import {
  PIXEL_DATA,
  formatTag,
  parseElementTree,
  type DicomElement,
  type ElementTree,
} from '../src/dicom/element-tree';
import { readDicom } from '../src/dicom/read';
import { TransferSyntax } from '../src/dicom/tags';
import {
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION_NAME,
  encodeDataSet,
  writePart10,
} from '../src/dicom/write';

const corpus = join(__dirname, '..', '..', 'shared', 'dicom');
const manifest: Array<{ path: string; expect: string; values?: Record<string, string> }> =
  JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8'));
const importable = manifest.filter((entry) => entry.expect === 'import');
const scratch = mkdtempSync(join(tmpdir(), 'dicom-write-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function readTree(bytes: Buffer): ElementTree {
  return parseElementTree(readDicom(bytes));
}

function rewrite(bytes: Buffer): Buffer {
  const read = readDicom(bytes);
  return writePart10(parseElementTree(read), {
    MediaStorageSOPClassUID: read.dataSet.string('x00080016') ?? '1.2.3',
    MediaStorageSOPInstanceUID: read.dataSet.string('x00080018') ?? '1.2.3.4',
  });
}

/** Serializes an element's content (value, items or fragments) for comparison. */
function contentOf(element: DicomElement): string {
  if (element.fragments) {
    return element.fragments.map((fragment) => Buffer.from(fragment).toString('hex')).join('|');
  }
  if (element.items) {
    return element.items
      .map((item) => item.elements.map((e) => `${e.tag}:${contentOf(e)}`).join(','))
      .join('/');
  }
  return Buffer.from(element.value ?? []).toString('hex');
}

function text(value: string): DicomElement {
  return { tag: 0x00081030, vr: 'LO', value: Buffer.from(value, 'latin1'), undefinedLength: false };
}

describe('writer round trip on the corpus', () => {
  for (const entry of importable) {
    test(entry.path, () => {
      const input = readFileSync(join(corpus, entry.path));
      const before = readTree(input);
      const output = rewrite(input);
      const again = readDicom(output);
      const after = parseElementTree(again);

      const expectedSyntax =
        entry.values?.TransferSyntaxUID === TransferSyntax.DeflatedExplicitVRLittleEndian
          ? TransferSyntax.ExplicitVRLittleEndian
          : entry.values?.TransferSyntaxUID;
      assert.equal(again.transferSyntaxUID, expectedSyntax);
      assert.equal(again.encoding, 'part10');
      assert.deepEqual(
        after.elements.map((e) => formatTag(e.tag)),
        before.elements.map((e) => formatTag(e.tag)),
      );
      for (const [index, element] of before.elements.entries()) {
        const written = after.elements[index];
        assert.ok(written, `element ${formatTag(element.tag)} missing`);
        assert.equal(contentOf(written), contentOf(element), `value of ${formatTag(element.tag)}`);
      }
      const pixels = (tree: ElementTree) => {
        const element = tree.elements.find((candidate) => candidate.tag === PIXEL_DATA);
        return element ? contentOf(element) : 'none';
      };
      assert.equal(pixels(after), pixels(before));
      if (!again.deflated && !readDicom(input).deflated) {
        const message = `size ${output.length} vs ${input.length}`;
        assert.ok(Math.abs(output.length - input.length) < 1024, message);
      }

      const file = join(scratch, 'roundtrip.dcm');
      writeFileSync(file, output);
      const dump = spawnSync('dcmdump', ['-q', file], { encoding: 'latin1' });
      assert.equal(dump.status, 0, dump.stderr);
      assert.doesNotMatch(`${dump.stdout}${dump.stderr}`, /^E:/m);
    });
  }
});

describe('file meta group', () => {
  const input = readFileSync(join(corpus, 'single', 'MR_small_implicit.dcm'));
  const output = writePart10(readTree(input), {
    MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
    MediaStorageSOPInstanceUID: '1.2.3.4.5',
  });
  const read = readDicom(output);

  test('preamble and DICM', () => {
    assert.equal(output.subarray(0, 128).every((byte) => byte === 0), true);
    assert.equal(output.toString('latin1', 128, 132), 'DICM');
  });

  test('group length covers the group', () => {
    const groupLength = read.dataSet.uint32('x00020000');
    assert.equal(132 + 12 + (groupLength ?? 0), read.metaEnd);
  });

  test('values of the meta elements', () => {
    const version = read.dataSet.elements.x00020001;
    assert.ok(version);
    assert.deepEqual([...output.subarray(version.dataOffset, version.dataOffset + 2)], [0, 1]);
    assert.equal(read.dataSet.string('x00020002'), '1.2.840.10008.5.1.4.1.1.4');
    assert.equal(read.dataSet.string('x00020003'), '1.2.3.4.5');
    assert.equal(read.dataSet.string('x00020010'), TransferSyntax.ImplicitVRLittleEndian);
    assert.equal(read.dataSet.string('x00020012'), IMPLEMENTATION_CLASS_UID);
    assert.equal(read.dataSet.string('x00020013'), IMPLEMENTATION_VERSION_NAME);
  });

  test('bare data set gets a meta group', () => {
    const bare = readFileSync(join(corpus, 'single', 'ExplVR_LitEndNoMeta.dcm'));
    const written = readDicom(rewrite(bare));
    assert.equal(written.encoding, 'part10');
    assert.equal(written.transferSyntaxUID, TransferSyntax.ExplicitVRLittleEndian);
  });

  test('invalid UID is rejected', () => {
    assert.throws(
      () =>
        writePart10(readTree(input), {
          MediaStorageSOPClassUID: 'x',
          MediaStorageSOPInstanceUID: '1',
        }),
      /invalid UID "x"/,
    );
  });
});

describe('element encoding', () => {
  const littleExplicit = { explicitVR: true, littleEndian: true };

  test('text padded with space', () => {
    const bytes = encodeDataSet([text('ABC')], littleExplicit);
    assert.equal(bytes.readUInt16LE(6), 4);
    assert.equal(bytes.toString('latin1', 8), 'ABC ');
  });

  test('UI padded with NUL', () => {
    const uid = { ...text('1.2.3'), tag: 0x00080018, vr: 'UI' };
    assert.equal(encodeDataSet([uid], littleExplicit).toString('latin1', 8), '1.2.3\0');
  });

  test('elements sorted by tag', () => {
    const second = { ...text('B'), tag: 0x00100010, vr: 'PN' };
    const bytes = encodeDataSet([second, text('A')], littleExplicit);
    assert.equal(bytes.readUInt16LE(0), 0x0008);
  });

  test('big endian header', () => {
    const bytes = encodeDataSet([text('AB')], { explicitVR: true, littleEndian: false });
    assert.equal(bytes.readUInt16BE(0), 0x0008);
    assert.equal(bytes.readUInt16BE(6), 2);
  });

  test('implicit VR header', () => {
    const bytes = encodeDataSet([text('AB')], { explicitVR: false, littleEndian: true });
    assert.equal(bytes.readUInt32LE(4), 2);
    assert.equal(bytes.length, 10);
  });

  test('sequence lengths recomputed', () => {
    const sequence: DicomElement = {
      tag: 0x00081140,
      vr: 'SQ',
      undefinedLength: false,
      items: [{ undefinedLength: false, elements: [text('ABCD')] }],
    };
    const bytes = encodeDataSet([sequence], littleExplicit);
    assert.equal(bytes.readUInt32LE(8), 8 + 12);
    assert.equal(bytes.readUInt32LE(16), 12);
  });

  test('undefined length kept', () => {
    const sequence: DicomElement = {
      tag: 0x00081140,
      vr: 'SQ',
      undefinedLength: true,
      items: [{ undefinedLength: true, elements: [] }],
    };
    const bytes = encodeDataSet([sequence], littleExplicit);
    assert.equal(bytes.readUInt32LE(8), 0xffffffff);
    assert.equal(bytes.readUInt32LE(16), 0xffffffff);
    assert.equal(bytes.readUInt16LE(22), 0xe00d);
    assert.equal(bytes.readUInt16LE(30), 0xe0dd);
  });

  test('short VR overflow rejected', () => {
    const long = text('A'.repeat(70_000));
    assert.throws(() => encodeDataSet([long], littleExplicit), /70000 bytes, more than VR LO/);
  });

  test('unknown VR rejected in explicit VR', () => {
    const element = { ...text('A'), vr: undefined };
    assert.throws(() => encodeDataSet([element], littleExplicit), /its VR is not known/);
  });
});

describe('element tree errors', () => {
  test('length past the end', () => {
    const bytes = encodeDataSet([text('ABCD')], { explicitVR: true, littleEndian: true });
    bytes.writeUInt16LE(200, 6);
    const source = {
      byteArray: bytes,
      metaEnd: 0,
      transferSyntaxUID: TransferSyntax.ExplicitVRLittleEndian,
      explicitVR: true,
      littleEndian: true,
      deflated: false,
    };
    assert.throws(() => parseElementTree(source), /length 200 of \(0008,1030\) runs past its end/);
  });
});
