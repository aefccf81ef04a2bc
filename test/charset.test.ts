import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { decodeText } from '../src/dicom/charset';
import { readDicom } from '../src/dicom/read';
import { Tags } from '../src/dicom/tags';

const corpusDir = process.env.DICOM_CORPUS_DIR ?? path.resolve(__dirname, '../../shared/dicom');

const ESC = 0x1b;
const ascii = (text: string) => [...Buffer.from(text, 'latin1')];
const bytes = (...parts: (number | number[] | string)[]) =>
  Uint8Array.from(parts.flatMap((part) => (typeof part === 'string' ? ascii(part) : part)));

/** Escape sequences of PS3.3 Table C.12-4 and C.12-5, after ESC. */
const escapes = {
  ASCII: [ESC, 0x28, 0x42],
  JISX0201Romaji: [ESC, 0x28, 0x4a],
  JISX0201Katakana: [ESC, 0x29, 0x49],
  Latin1: [ESC, 0x2d, 0x41],
  Greek: [ESC, 0x2d, 0x46],
  JISX0208: [ESC, 0x24, 0x42],
  JISX0212: [ESC, 0x24, 0x28, 0x44],
  KSX1001: [ESC, 0x24, 0x29, 0x43],
  GB2312: [ESC, 0x24, 0x29, 0x41],
};

describe('decodeText single-byte terms', () => {
  const cases: [term: string, byte: number, expected: string][] = [
    ['ISO_IR 6', 0x41, 'A'],
    ['ISO_IR 100', 0xe9, 'é'],
    ['ISO_IR 101', 0xb1, 'ą'],
    ['ISO_IR 109', 0xa1, 'Ħ'],
    ['ISO_IR 110', 0xa1, 'Ą'],
    ['ISO_IR 144', 0xb0, 'А'],
    ['ISO_IR 127', 0xc7, 'ا'],
    ['ISO_IR 126', 0xc1, 'Α'],
    ['ISO_IR 138', 0xe0, 'א'],
    ['ISO_IR 148', 0xde, 'Ş'],
    ['ISO_IR 203', 0xa4, '€'],
    ['ISO_IR 166', 0xa1, 'ก'],
    ['ISO_IR 13', 0xb1, 'ｱ'],
  ];
  for (const [term, byte, expected] of cases) {
    test(term, () => {
      assert.equal(decodeText(bytes('Ab^', [byte]), term, 'PN'), `Ab^${expected}`);
    });
  }

  test('empty term is the default repertoire', () => {
    assert.equal(decodeText(bytes('Smith^John'), '', 'PN'), 'Smith^John');
  });

  test('unknown term falls back to Latin-1', () => {
    assert.equal(decodeText(bytes('Jos', [0xe9]), 'ISO_IR 999', 'PN'), 'José');
  });
});

describe('decodeText multi-byte terms', () => {
  test('ISO_IR 192', () => {
    const value = Buffer.from('Müller^Zoë=王', 'utf8');
    assert.equal(decodeText(value, 'ISO_IR 192', 'PN'), 'Müller^Zoë=王');
  });

  test('GB18030 two- and four-byte', () => {
    const value = bytes([0xcd, 0xf5], '^', [0xa2, 0xe3], [0x95, 0x32, 0x82, 0x36]);
    assert.equal(decodeText(value, 'GB18030', 'PN'), '王^€𠀀');
  });

  test('GBK', () => {
    assert.equal(decodeText(bytes([0xcd, 0xf5, 0xd0, 0xa1, 0xb6, 0xab]), 'GBK', 'PN'), '王小东');
  });
});

describe('decodeText ISO 2022 code extensions', () => {
  const yamadaKanji = [...escapes.JISX0208, 0x3b, 0x33, 0x45, 0x44, ...escapes.ASCII];
  const tarouKanji = [...escapes.JISX0208, 0x42, 0x40, 0x4f, 0x3a, ...escapes.ASCII];
  const yamadaKana = [...escapes.JISX0208, 0x24, 0x64, 0x24, 0x5e, 0x24, 0x40, ...escapes.ASCII];
  const tarouKana = [...escapes.JISX0208, 0x24, 0x3f, 0x24, 0x6d, 0x24, 0x26, ...escapes.ASCII];

  test('IR 87 person name', () => {
    const value = bytes(
      'Yamada^Tarou=', yamadaKanji, '^', tarouKanji, '=', yamadaKana, '^', tarouKana,
    );
    const decoded = decodeText(value, '\\ISO 2022 IR 87', 'PN');
    assert.equal(decoded, 'Yamada^Tarou=山田^太郎=やまだ^たろう');
  });

  test('IR 13 with IR 87', () => {
    const katakana = [0xd4, 0xcf, 0xc0, 0xde, 0x5e, 0xc0, 0xdb, 0xb3];
    const value = bytes(katakana, '=', yamadaKanji, '^', tarouKanji);
    const decoded = decodeText(value, 'ISO 2022 IR 13\\ISO 2022 IR 87', 'PN');
    assert.equal(decoded, 'ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎');
  });

  test('IR 13 designations by escape', () => {
    const value = bytes(escapes.JISX0201Katakana, [0xb1], escapes.JISX0201Romaji, 'A');
    assert.equal(decodeText(value, '\\ISO 2022 IR 13', 'LO'), 'ｱA');
  });

  test('IR 159', () => {
    const value = bytes(escapes.JISX0212, [0x30, 0x21], escapes.ASCII);
    assert.equal(decodeText(value, '\\ISO 2022 IR 159', 'LO'), '丂');
  });

  test('IR 149 person name', () => {
    const value = bytes(
      'Hong^Gildong=',
      escapes.KSX1001, [0xfb, 0xf3], '^', escapes.KSX1001, [0xd1, 0xce, 0xd4, 0xd7], '=',
      escapes.KSX1001, [0xc8, 0xab], '^', escapes.KSX1001, [0xb1, 0xe6, 0xb5, 0xbf],
    );
    assert.equal(decodeText(value, '\\ISO 2022 IR 149', 'PN'), 'Hong^Gildong=洪^吉洞=홍^길동');
  });

  test('IR 58 person name', () => {
    const value = bytes('Wang^XiaoDong=', escapes.GB2312, [0xcd, 0xf5, 0x5e], escapes.GB2312,
      [0xd0, 0xa1, 0xb6, 0xab], '=');
    assert.equal(decodeText(value, '\\ISO 2022 IR 58', 'PN'), 'Wang^XiaoDong=王^小东=');
  });

  test('IR 126 as value 1 needs no escape', () => {
    assert.equal(decodeText(bytes([0xc1], '^', [0xc2]), 'ISO 2022 IR 126', 'PN'), 'Α^Β');
  });

  test('IR 100 as value 1 needs no escape', () => {
    const value = bytes('Buc^J', [0xe9], 'r', [0xf4], 'me');
    assert.equal(decodeText(value, 'ISO 2022 IR 100', 'PN'), 'Buc^Jérôme');
  });

  test('IR 6 with IR 100 by escape', () => {
    const value = bytes('Buc^', escapes.Latin1, 'J', [0xe9], 'r', [0xf4], 'me');
    assert.equal(decodeText(value, 'ISO 2022 IR 6\\ISO 2022 IR 100', 'PN'), 'Buc^Jérôme');
  });

  test('PN delimiter restores value 1 set', () => {
    const value = bytes(escapes.Greek, [0xc1], '=', [0xe9]);
    assert.equal(decodeText(value, 'ISO 2022 IR 100\\ISO 2022 IR 126', 'PN'), 'Α=é');
  });

  test('backslash restores value 1 set', () => {
    const value = bytes(escapes.Greek, [0xc1], '\\', [0xe9]);
    assert.equal(decodeText(value, 'ISO 2022 IR 100\\ISO 2022 IR 126', 'LO'), 'Α\\é');
  });

  test('caret keeps the set outside PN', () => {
    const value = bytes(escapes.Greek, [0xc1], '^', [0xc1]);
    assert.equal(decodeText(value, 'ISO 2022 IR 100\\ISO 2022 IR 126', 'LO'), 'Α^Α');
  });

  test('delimiter byte inside a JIS X 0208 character', () => {
    // 0x3D 0x5E is one kanji, so neither byte may end the designation of JIS X 0208.
    const value = bytes(escapes.JISX0208, [0x3d, 0x5e], escapes.ASCII);
    assert.equal(decodeText(value, '\\ISO 2022 IR 87', 'PN'), '殉');
  });
});

describe('decodeText corpus names', () => {
  const manifest = JSON.parse(readFileSync(path.join(corpusDir, 'manifest.json'), 'utf8')) as {
    path: string;
    values?: Record<string, string>;
  }[];
  const charsetEntries = manifest.filter((entry) => path.basename(entry.path).startsWith('chr'));

  test('corpus has charset files', () => {
    assert.ok(charsetEntries.length >= 9, `${charsetEntries.length} chr*.dcm entries`);
  });

  for (const entry of charsetEntries) {
    test(path.basename(entry.path), () => {
      const { dataSet, byteArray } = readDicom(readFileSync(path.join(corpusDir, entry.path)));
      const valueOf = (tag: string) => {
        const element = dataSet.elements[tag];
        assert.ok(element, `${entry.path}: element ${tag} present`);
        return byteArray.subarray(element.dataOffset, element.dataOffset + element.length);
      };
      const specificCharacterSet = Buffer.from(valueOf(Tags.SpecificCharacterSet.tag))
        .toString('latin1')
        .trim();
      const name = decodeText(valueOf(Tags.PatientName.tag), specificCharacterSet, 'PN');
      assert.equal(name.trimEnd(), entry.values?.PatientName, `${entry.path}: PatientName`);
    });
  }
});
