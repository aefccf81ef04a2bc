import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { profileVr } from '../src/deid/actions';
import { deidentify, readSourceImage, type DeidentifyOptions } from '../src/deid/deidentify';
import { loadDeidProfile } from '../src/deid/profile-config';
import { mapUid } from '../src/deid/uids';
import { PIXEL_DATA, parseElementTree, type DicomElement } from '../src/dicom/element-tree';
import { readDicom } from '../src/dicom/read';
import { TransferSyntax } from '../src/dicom/tags';
import { writePart10 } from '../src/dicom/write';

const corpus = join(__dirname, '..', '..', 'shared', 'dicom');
const options: DeidentifyOptions = {
  uidSecret: Buffer.from('robustness secret'),
  patientPseudonym: 'ANONROB1',
  dateOffsetDays: 5,
  profile: loadDeidProfile(),
};
const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';

function element(tag: number, vr: string, value: string | Buffer): DicomElement {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  return { tag, vr, value: bytes, undefinedLength: false };
}

function fileOf(elements: DicomElement[]): Buffer {
  return writePart10(
    {
      explicitVR: true,
      littleEndian: true,
      transferSyntaxUID: TransferSyntax.ExplicitVRLittleEndian,
      elements: [
        element(0x00080016, 'UI', CT_IMAGE),
        element(0x00080018, 'UI', '1.2.826.0.1.3680043.2.1143.77.1'),
        ...elements,
      ],
    },
    {
      MediaStorageSOPClassUID: CT_IMAGE,
      MediaStorageSOPInstanceUID: '1.2.826.0.1.3680043.2.1143.77.1',
    },
  );
}

function treeOf(bytes: Buffer) {
  return parseElementTree(readDicom(bytes), profileVr);
}

function find(elements: DicomElement[], tag: number): DicomElement | undefined {
  return elements.find((candidate) => candidate.tag === tag);
}

/** Implicit VR little endian bytes of one element. */
function implicitElement(tag: number, value: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.writeUInt32LE(value.length, 4);
  return Buffer.concat([header, value]);
}

function item(content: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(0xe000fffe, 0);
  header.writeUInt32LE(content.length, 4);
  return Buffer.concat([header, content]);
}

/** ReferencedImageSequence items as a UN value would hold them: implicit VR little endian. */
function referencedItems(count: number): Buffer {
  const items: Buffer[] = [];
  for (let index = 0; index < count; index += 1) {
    const uid = `1.2.826.0.1.3680043.2.1143.77.${index + 2}`;
    items.push(
      item(
        Buffer.concat([
          implicitElement(0x00081150, Buffer.from(`${CT_IMAGE}\0`, 'latin1')),
          implicitElement(0x00081155, Buffer.from(uid.length % 2 ? `${uid}\0` : uid, 'latin1')),
        ]),
      ),
    );
  }
  return Buffer.concat(items);
}

function heapGrowth(action: () => void): number {
  const before = process.memoryUsage().heapUsed;
  action();
  return process.memoryUsage().heapUsed - before;
}

describe('truncated files', () => {
  const input = readFileSync(join(corpus, 'single', 'MR_small.dcm'));

  for (const length of [200, 1000, 3000, input.length - 100]) {
    test(`cut at ${length} bytes`, () => {
      assert.throws(
        () => readSourceImage(input.subarray(0, length)),
        /truncated|runs past|premature|invalid/i,
      );
    });
  }
});

describe('standard sequence stored as UN', () => {
  const un = element(0x00081140, 'UN', referencedItems(1));
  const input = fileOf([un]);
  const output = deidentify(input, options).bytes;
  const sequence = find(treeOf(output).elements, 0x00081140);
  const first = sequence?.items?.[0]?.elements ?? [];

  test('becomes SQ', () => assert.equal(sequence?.vr, 'SQ'));
  test('reference mapped', () => {
    const value = Buffer.from(find(first, 0x00081155)?.value ?? []).toString('latin1');
    const original = '1.2.826.0.1.3680043.2.1143.77.2';
    assert.equal(value.replace(/\0+$/, ''), mapUid(original, options.uidSecret));
  });
  test('output size sane', () => {
    const large = fileOf([element(0x00081140, 'UN', referencedItems(2000))]);
    const written = deidentify(large, options).bytes;
    assert.ok(written.length < large.length * 1.5, `${written.length} from ${large.length}`);
  });
  test('undefined length parsed', () => {
    const delimiter = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
    const value = Buffer.concat([referencedItems(3), delimiter]);
    const undefinedUn: DicomElement = { tag: 0x00081140, vr: 'UN', value, undefinedLength: true };
    const written = deidentify(fileOf([undefinedUn]), options).bytes;
    assert.equal(find(treeOf(written).elements, 0x00081140)?.items?.length, 3);
  });
  test('invalid content removed', () => {
    const garbage = element(0x00081140, 'UN', Buffer.from('FEFF00E0 not items', 'latin1'));
    const written = deidentify(fileOf([garbage]), options).bytes;
    assert.equal(find(treeOf(written).elements, 0x00081140), undefined);
  });
});

describe('two-valued ISO 2022 character set', () => {
  // "ISO 2022 IR 6\ISO 2022 IR 87": JIS X 0208 text between ESC $ B and ESC ( B.
  const jis = Buffer.from([0x1b, 0x24, 0x42, 0x3b, 0x33, 0x45, 0x44, 0x1b, 0x28, 0x42]);
  const manufacturer = Buffer.concat([Buffer.from('Tokyo ', 'latin1'), jis]);
  const input = fileOf([
    element(0x00080005, 'CS', 'ISO 2022 IR 6\\ISO 2022 IR 87'),
    element(0x00080070, 'LO', manufacturer),
    element(0x00100010, 'PN', Buffer.concat([Buffer.from('Yamada^Taro=', 'latin1'), jis])),
  ]);
  const output = deidentify(input, options).bytes;
  const { elements } = treeOf(output);

  test('character set unchanged', () => {
    const value = Buffer.from(find(elements, 0x00080005)?.value ?? []).toString('latin1');
    assert.equal(value.trim(), 'ISO 2022 IR 6\\ISO 2022 IR 87');
  });
  test('kept text bytes unchanged', () => {
    assert.deepEqual(Buffer.from(find(elements, 0x00080070)?.value ?? []), manufacturer);
  });
  test('name replaced', () => {
    const value = Buffer.from(find(elements, 0x00100010)?.value ?? []).toString('latin1');
    assert.equal(value.trim(), 'ANONROB1');
  });
});

describe('JPEG secondary capture ending early', () => {
  const input = readFileSync(join(corpus, 'single', 'JPEG-lossy.dcm'));
  const tree = treeOf(input);
  const pixels = find(tree.elements, PIXEL_DATA);

  test('file cut inside the fragment', () => {
    let thrown: Error | undefined;
    const growth = heapGrowth(() => {
      try {
        readSourceImage(input.subarray(0, input.length - 500));
      } catch (error) {
        thrown = error as Error;
      }
    });
    assert.match(thrown?.message ?? 'no error', /pixel data|runs past|delimiter|truncated/);
    assert.ok(growth < 32 * 1024 * 1024, `heap grew ${growth} bytes`);
  });

  test('JPEG stream cut, structure intact', () => {
    const fragments = (pixels?.fragments ?? []).map((fragment, index, all) =>
      index === all.length - 1 ? fragment.subarray(0, Math.floor(fragment.length / 2)) : fragment,
    );
    const elements = tree.elements.map((candidate) =>
      candidate.tag === PIXEL_DATA ? { ...candidate, fragments } : candidate,
    );
    const cut = writePart10(
      { ...tree, elements },
      {
        MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
        MediaStorageSOPInstanceUID: '1.2.3.4',
      },
    );
    let output: Buffer | undefined;
    const growth = heapGrowth(() => {
      output = deidentify(cut, options).bytes;
    });
    const written = find(treeOf(output!).elements, PIXEL_DATA)?.fragments ?? [];
    const expected = find(treeOf(cut).elements, PIXEL_DATA)?.fragments ?? [];
    const hex = (parts: Uint8Array[]) => parts.map((part) => Buffer.from(part).toString('hex'));
    assert.deepEqual(hex(written), hex(expected));
    assert.ok(growth < 32 * 1024 * 1024, `heap grew ${growth} bytes`);
  });
});
