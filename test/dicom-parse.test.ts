import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { NotImportableError } from '../src/errors';
import { parseDicom, parseDicomFile } from '../src/dicom/parse';
import { readDicom } from '../src/dicom/read';
import { Tags, TransferSyntax } from '../src/dicom/tags';
import type { ParseResult } from '../src/dicom/types';
import { manifestCorrections, reasonCategory } from './helpers/manifest';

const corpusDir = process.env.DICOM_CORPUS_DIR ?? path.resolve(__dirname, '../../shared/dicom');

interface ManifestEntry {
  path: string;
  expect: 'import' | 'skip';
  encoding?: string;
  reason?: string;
  values?: Record<string, string>;
}

const manifest = JSON.parse(
  readFileSync(path.join(corpusDir, 'manifest.json'), 'utf8'),
) as ManifestEntry[];

const readCorpusFile = (file: string) => readFileSync(path.join(corpusDir, file));

function assertSkip(result: ParseResult, label: string): void {
  assert.equal(result.outcome, 'skip', `${label}: outcome`);
}

describe('parseDicom manifest', () => {
  test('manifest has entries', () => {
    assert.ok(manifest.length > 100, `${manifest.length} entries`);
  });

  for (const entry of manifest) {
    test(entry.path, () => {
      const result = parseDicom(readCorpusFile(entry.path));
      if (entry.expect === 'skip') {
        assert.equal(result.outcome, 'skip', `${entry.path}: outcome`);
        const reason = result.outcome === 'skip' ? result.reason : '';
        const expected = reasonCategory(entry.reason!);
        assert.equal(reasonCategory(reason), expected, `${entry.path}: reason ${reason}`);
        return;
      }

      const reason = result.outcome === 'skip' ? result.reason : '';
      assert.equal(result.outcome, 'import', `${entry.path}: outcome (${reason})`);
      if (result.outcome !== 'import') {
        return;
      }
      assert.equal(result.encoding, entry.encoding, `${entry.path}: encoding`);
      const actual: Record<string, string> = { ...result.values };
      const expected = { ...entry.values, ...manifestCorrections[entry.path] };
      for (const [key, value] of Object.entries(expected)) {
        assert.equal(actual[key], value, `${entry.path}: ${key}`);
      }
    });
  }
});

describe('parseDicom other header values', () => {
  const cases: [file: string, keyword: 'StudyTime' | 'StudyDescription', expected: string][] = [
    ['studies/77654033/CR1/6154', 'StudyTime', '000000'],
    ['studies/77654033/CR1/6154', 'StudyDescription', 'XR C Spine Comp Min 4 Views'],
    ['single/JPEG2000.dcm', 'StudyTime', '185059'],
    ['single/JPEG2000.dcm', 'StudyDescription', 'Whole Body Bone'],
  ];
  for (const [file, keyword, expected] of cases) {
    test(`${keyword} of ${path.basename(file)}`, () => {
      const result = parseDicom(readCorpusFile(file));
      assert.ok(result.outcome === 'import', `${file}: outcome`);
      assert.equal(result.values[keyword], expected, `${file}: ${keyword}`);
    });
  }

  test('BurnedInAnnotation', () => {
    const result = parseDicom(readCorpusFile('ct/CT0012.explicit_little_endian.dcm'));
    assert.ok(result.outcome === 'import', 'CT0012: outcome');
    assert.equal(result.values.BurnedInAnnotation, 'NO', 'BurnedInAnnotation');
  });

  test('SpecificCharacterSet multi-valued', () => {
    const result = parseDicom(readCorpusFile('single/chrI2.dcm'));
    assert.ok(result.outcome === 'import', 'chrI2.dcm: outcome');
    assert.equal(result.values.SpecificCharacterSet, '\\ISO 2022 IR 149', 'SpecificCharacterSet');
  });

  test('parseDicomFile reads the file', async () => {
    const result = await parseDicomFile(path.join(corpusDir, 'single/MR_small.dcm'));
    assert.equal(result.outcome, 'import');
  });

  test('parseDicomFile missing file throws', async () => {
    await assert.rejects(parseDicomFile(path.join(corpusDir, 'no-such-file.dcm')), /ENOENT/);
  });
});

describe('readDicom encodings', () => {
  const cases: [file: string, expected: Record<string, unknown>][] = [
    ['single/MR_small.dcm', { encoding: 'part10', littleEndian: true, explicitVR: true }],
    ['single/MR_small_implicit.dcm', { encoding: 'part10', explicitVR: false }],
    ['single/MR_small_bigendian.dcm', { littleEndian: false, explicitVR: true }],
    ['single/image_dfl.dcm', { deflated: true, explicitVR: true }],
    ['single/ExplVR_LitEndNoMeta.dcm', {
      encoding: 'dataset', metaEnd: 0, transferSyntaxUID: TransferSyntax.ExplicitVRLittleEndian,
    }],
    ['single/rtstruct.dcm', {
      encoding: 'dataset',
      explicitVR: false,
      transferSyntaxUID: TransferSyntax.ImplicitVRLittleEndian,
    }],
    ['broken/meta_missing_tsyntax.dcm', {
      encoding: 'part10', transferSyntaxUID: TransferSyntax.ImplicitVRLittleEndian,
    }],
  ];
  for (const [file, expected] of cases) {
    test(file, () => {
      const read = readDicom(readCorpusFile(file));
      for (const [key, value] of Object.entries(expected)) {
        assert.equal(read[key as keyof typeof read], value, `${file}: ${key}`);
      }
    });
  }

  test('deflated byteArray is inflated', () => {
    const bytes = readCorpusFile('single/image_dfl.dcm');
    const read = readDicom(bytes);
    assert.ok(read.byteArray.length > bytes.length, `${read.byteArray.length} > ${bytes.length}`);
    assert.ok(read.dataSet.elements[Tags.SOPInstanceUID.tag], 'SOPInstanceUID element');
  });

  test('untilTag still checks PixelData', () => {
    const bytes = readCorpusFile('broken/MR_truncated.dcm');
    assert.throws(
      () => readDicom(bytes, { untilTag: Tags.PixelData.tag }),
      (error) => error instanceof NotImportableError && error.reason.startsWith('truncated:'),
    );
  });

  test('implicit VR short last value', () => {
    // dicom-parser seeks past a last value that runs off the end without an error in implicit VR.
    const bytes = readCorpusFile('single/MR_small_implicit.dcm');
    const result = parseDicom(bytes.subarray(0, bytes.length - 10));
    assert.equal(result.outcome === 'skip' && reasonCategory(result.reason), 'corrupt/truncated');
  });
});

describe('parseDicom generated input', () => {
  test('zero-byte file', () => {
    assert.deepEqual(parseDicom(Buffer.alloc(0)), { outcome: 'skip', reason: 'not DICOM' });
  });

  test('random bytes', () => {
    let seed = 12345;
    const nextByte = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed & 0xff;
    };
    for (const size of [1, 7, 8, 131, 132, 500, 4096, 65536]) {
      const bytes = Buffer.from(Array.from({ length: size }, nextByte));
      assertSkip(parseDicom(bytes), `${size} random bytes`);
    }
  });

  test('random bytes after DICM', () => {
    const bytes = Buffer.alloc(1024, 0x5a);
    bytes.write('DICM', 128, 'latin1');
    assertSkip(parseDicom(bytes), 'DICM then filler');
  });

  test('file cut at 10 offsets', () => {
    const file = 'single/MR_small_implicit.dcm';
    const bytes = readCorpusFile(file);
    const offsets = cutOffsets(bytes);
    assert.equal(offsets.length, 10, 'offsets');
    for (const offset of offsets) {
      const result = parseDicom(bytes.subarray(0, offset));
      assertSkip(result, `${file} cut at ${offset}`);
    }
  });
});

/**
 * Offsets inside the preamble, the meta group, header values and the pixel data. A cut exactly
 * between two elements leaves a well-formed shorter data set, which no reader can tell from a
 * whole one, so every offset here lies inside an element.
 */
function cutOffsets(bytes: Buffer): number[] {
  const { dataSet, metaEnd } = readDicom(bytes);
  const pixelData = dataSet.elements[Tags.PixelData.tag]!;
  const inside = (tag: string) => {
    const element = dataSet.elements[tag]!;
    return element.dataOffset + Math.floor(element.length / 2);
  };
  return [
    64,
    140,
    metaEnd - 3,
    inside(Tags.SOPInstanceUID.tag),
    inside(Tags.PatientName.tag),
    inside(Tags.StudyInstanceUID.tag),
    inside(Tags.SeriesInstanceUID.tag),
    pixelData.dataOffset - 2,
    pixelData.dataOffset + Math.floor(pixelData.length / 2),
    bytes.length - 1,
  ];
}
