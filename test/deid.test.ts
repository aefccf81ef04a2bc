import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { deidentify, type DeidentifyOptions } from '../src/deid/deidentify';
import {
  loadDeidProfile,
  parseDeidProfile,
  type DeidOptions,
  type DeidProfile,
} from '../src/deid/profile-config';
import { shiftDate, shiftDateTime } from '../src/deid/dates';
import { mapUid } from '../src/deid/uids';
import { profileVr } from '../src/deid/actions';
import {
  PIXEL_DATA,
  parseElementTree,
  type DicomElement,
  type ElementTree,
} from '../src/dicom/element-tree';
import { readDicom } from '../src/dicom/read';
import { TransferSyntax } from '../src/dicom/tags';
import { writePart10 } from '../src/dicom/write';

const corpus = join(__dirname, '..', '..', 'shared', 'dicom');
const manifest: Array<{ path: string; expect: string }> = JSON.parse(
  readFileSync(join(corpus, 'manifest.json'), 'utf8'),
);
const importable = manifest.filter((entry) => entry.expect === 'import');
const scratch = mkdtempSync(join(tmpdir(), 'deid-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const shippedProfile = loadDeidProfile();

/** The shipped profile with every option off except those given. */
function profileWith(on: Partial<DeidOptions>, version = '2024.1'): DeidProfile {
  const off: DeidOptions = {
    retainLongitudinalTemporalInformationModifiedDates: false,
    retainPatientCharacteristics: false,
    retainDeviceIdentity: false,
    retainSafePrivate: false,
    cleanDescriptors: false,
  };
  return { ...shippedProfile, version, options: { ...off, ...on } };
}

const options: DeidentifyOptions = {
  uidSecret: Buffer.from('test secret'),
  patientPseudonym: 'PSEUDO0001',
  dateOffsetDays: -400,
  profile: profileWith({ retainLongitudinalTemporalInformationModifiedDates: true }),
};

const hasDciodvfy = spawnSync('which', ['dciodvfy']).status === 0;

function treeOf(bytes: Buffer): ElementTree {
  return parseElementTree(readDicom(bytes), profileVr);
}

function find(elements: DicomElement[], tag: number): DicomElement | undefined {
  return elements.find((element) => element.tag === tag);
}

function textOf(elements: DicomElement[], tag: number): string | undefined {
  const value = find(elements, tag)?.value;
  if (value === undefined) return undefined;
  return Buffer.from(value).toString('latin1').replace(/[\0 ]+$/, '');
}

function rawValue(elements: DicomElement[], tag: number): Buffer | undefined {
  const value = find(elements, tag)?.value;
  if (value === undefined) return undefined;
  let end = value.length;
  while (end > 0 && (value[end - 1] === 0x20 || value[end - 1] === 0)) end -= 1;
  return end === 0 ? undefined : Buffer.from(value.subarray(0, end));
}

function pixelContent(tree: ElementTree): string {
  const pixels = find(tree.elements, PIXEL_DATA);
  if (!pixels) return 'none';
  if (pixels.fragments) {
    return pixels.fragments.map((fragment) => Buffer.from(fragment).toString('hex')).join('|');
  }
  return Buffer.from(pixels.value ?? []).toString('hex');
}

/** Values of one attribute at every depth, padding removed. */
function valuesOf(elements: DicomElement[], tag: number, into: string[] = []): string[] {
  for (const element of elements) {
    if (element.tag === tag) into.push(textOf([element], tag) ?? '');
    for (const item of element.items ?? []) valuesOf(item.elements, tag, into);
  }
  return into;
}

/** Returns the output bytes with the pixel data value zeroed, so it cannot match by chance. */
function headerBytes(output: Buffer): Buffer {
  const copy = Buffer.from(output);
  const pixels = readDicom(output).dataSet.elements.x7fe00010;
  if (pixels) {
    copy.fill(0, pixels.dataOffset, Math.min(copy.length, pixels.dataOffset + pixels.length));
  }
  return copy;
}

function expectedDate(date: string, days: number): string {
  const time = Date.UTC(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8)) + days * 864e5;
  return new Date(time).toISOString().slice(0, 10).replace(/-/g, '');
}

function errorLines(tool: string, file: string): string[] {
  const run = spawnSync(tool, [file], { encoding: 'latin1' });
  return `${run.stdout}${run.stderr}`.split('\n').filter((line) => /^(E:|Error)/.test(line));
}

const identifyingTags = {
  PatientName: 0x00100010,
  PatientID: 0x00100020,
  AccessionNumber: 0x00080050,
  StudyInstanceUID: 0x0020000d,
  SeriesInstanceUID: 0x0020000e,
  SOPInstanceUID: 0x00080018,
};

describe('deidentify on the corpus', () => {
  for (const entry of importable) {
    test(entry.path, () => {
      const path = join(corpus, entry.path);
      const input = readFileSync(path);
      const before = treeOf(input);
      const result = deidentify(input, options);
      const output = result.bytes;
      const read = readDicom(output);
      const after = parseElementTree(read, profileVr);

      const file = join(scratch, 'out.dcm');
      writeFileSync(file, output);
      const dump = spawnSync('dcmdump', ['-q', file], { encoding: 'latin1' });
      assert.equal(dump.status, 0, dump.stderr);
      assert.deepEqual(errorLines('dcmdump', file), []);

      const header = headerBytes(output);
      for (const [keyword, tag] of Object.entries(identifyingTags)) {
        const original = rawValue(before.elements, tag);
        const originalText = original?.toString('latin1');
        if (original === undefined || originalText === options.patientPseudonym) continue;
        // Values of 1 to 3 bytes occur in any header by chance, so only the attribute is checked.
        if (original.length >= 4) {
          assert.equal(header.indexOf(original), -1, `${keyword} ${originalText} found`);
        }
        const retained = valuesOf(after.elements, tag).includes(originalText ?? '');
        assert.equal(retained, false, `${keyword} value retained`);
      }

      const originalSOPInstanceUID = textOf(before.elements, identifyingTags.SOPInstanceUID) ?? '';
      assert.equal(result.SOPInstanceUID, mapUid(originalSOPInstanceUID, options.uidSecret));
      assert.equal(read.dataSet.string('x00020003'), result.SOPInstanceUID);
      assert.equal(textOf(after.elements, identifyingTags.SOPInstanceUID), result.SOPInstanceUID);
      assert.equal(textOf(after.elements, identifyingTags.PatientName), options.patientPseudonym);
      assert.equal(textOf(after.elements, identifyingTags.PatientID), options.patientPseudonym);
      assert.equal(deidentify(input, options).bytes.equals(output), true, 'second call differs');

      const studyDate = textOf(before.elements, 0x00080020);
      if (studyDate) {
        const expected = expectedDate(studyDate, options.dateOffsetDays);
        assert.equal(textOf(after.elements, 0x00080020), expected);
      }
      assert.equal(pixelContent(after), pixelContent(before));
      assert.equal(after.elements.some((element) => (element.tag >>> 16) % 2 === 1), false);

      if (hasDciodvfy) {
        const inputErrors = errorLines('dciodvfy', path);
        const outputErrors = errorLines('dciodvfy', file);
        const added = outputErrors.filter((line) => !inputErrors.includes(line));
        const message = `dciodvfy errors added: ${added.join('; ')}`;
        assert.ok(outputErrors.length <= inputErrors.length, message);
      }
    });
  }

  test('same instance in three syntaxes', () => {
    const names = ['explicit_little_endian', 'implicit_little_endian', 'explicit_big_endian'];
    const uids = names.map((name) => {
      const input = readFileSync(join(corpus, 'ct', `CT1_UNC.${name}.dcm`));
      return deidentify(input, options).SOPInstanceUID;
    });
    assert.equal(new Set(uids).size, 1);
  });
});

const UIDs = {
  study: '1.2.826.0.1.3680043.2.1143.1',
  series: '1.2.826.0.1.3680043.2.1143.1.2',
  instance: '1.2.826.0.1.3680043.2.1143.1.2.3',
  frameOfReference: '1.2.826.0.1.3680043.2.1143.9',
  referenced: '1.2.826.0.1.3680043.2.1143.7',
  secondaryCapture: '1.2.840.10008.5.1.4.1.1.7',
};

function element(tag: number, vr: string, value: string): DicomElement {
  return { tag, vr, value: Buffer.from(value, 'latin1'), undefinedLength: false };
}

function sequence(tag: number, elements: DicomElement[]): DicomElement {
  return { tag, vr: 'SQ', undefinedLength: true, items: [{ undefinedLength: true, elements }] };
}

/** Builds a small secondary capture file with one attribute for each action of the profile. */
function sampleFile(explicitVR: boolean): Buffer {
  const elements: DicomElement[] = [
    element(0x00080005, 'CS', 'ISO_IR 100'),
    element(0x00080012, 'DA', '20200131'),
    element(0x00080016, 'UI', UIDs.secondaryCapture),
    element(0x00080018, 'UI', UIDs.instance),
    element(0x00080020, 'DA', '20200229'),
    element(0x00080021, 'DA', 'not a date'),
    element(0x0008002a, 'DT', '20201231235959.5+0100'),
    element(0x00080030, 'TM', '101010'),
    element(0x00080032, 'TM', '101010'),
    element(0x00080033, 'TM', '121212'),
    element(0x00080050, 'SH', 'ACC123'),
    element(0x00080060, 'CS', 'OT'),
    element(0x00080080, 'LO', 'General Hospital'),
    element(0x00080081, 'ST', 'Main Street 1'),
    sequence(0x00081140, [
      element(0x00081150, 'UI', UIDs.secondaryCapture),
      element(0x00081155, 'UI', UIDs.referenced),
      element(0x00080080, 'LO', 'Nested Hospital'),
    ]),
    element(0x00090010, 'LO', 'ACME'),
    element(0x00091001, 'LO', 'private secret'),
    element(0x00100010, 'PN', 'Doe^John'),
    element(0x00100020, 'LO', 'PID42'),
    element(0x00100030, 'DA', '19700101'),
    element(0x00181030, 'LO', 'Secret protocol'),
    element(0x00181204, 'DA', '20010101'),
    element(0x0020000d, 'UI', UIDs.study),
    element(0x0020000e, 'UI', UIDs.series),
    element(0x00200052, 'UI', UIDs.frameOfReference),
    element(0x00280301, 'CS', 'YES'),
    sequence(0x00400275, [element(0x00401001, 'SH', 'RP1')]),
    sequence(0x00400610, [element(0x00080100, 'SH', 'X1')]),
    { tag: 0x50003000, vr: 'OW', value: Buffer.alloc(4, 7), undefinedLength: false },
    { tag: PIXEL_DATA, vr: 'OW', value: Buffer.from([1, 2, 3, 4]), undefinedLength: false },
  ];
  const transferSyntaxUID = explicitVR
    ? TransferSyntax.ExplicitVRLittleEndian
    : TransferSyntax.ImplicitVRLittleEndian;
  const tree = { explicitVR, littleEndian: true, transferSyntaxUID, elements };
  return writePart10(tree, {
    MediaStorageSOPClassUID: UIDs.secondaryCapture,
    MediaStorageSOPInstanceUID: UIDs.instance,
  });
}

for (const explicitVR of [true, false]) {
  describe(`profile actions, ${explicitVR ? 'explicit' : 'implicit'} VR`, () => {
    const result = deidentify(sampleFile(explicitVR), { ...options, dateOffsetDays: 1 });
    const { elements } = treeOf(result.bytes);
    const referenced = find(elements, 0x00081140)?.items?.[0]?.elements ?? [];

    test('D replaces with a dummy', () => {
      assert.equal(textOf(elements, 0x00080080), 'ANONYMIZED');
      assert.equal(textOf(elements, 0x00181030), 'ANONYMIZED');
    });

    test('Z empties the value', () => {
      assert.equal(textOf(elements, 0x00080050), '');
      assert.equal(textOf(elements, 0x00100030), '');
      assert.deepEqual(find(elements, 0x00400610)?.items, []);
    });

    test('times kept with modified dates', () => {
      assert.equal(textOf(elements, 0x00080030), '101010');
      assert.equal(textOf(elements, 0x00080032), '101010');
      assert.equal(textOf(elements, 0x00080033), '121212');
    });

    test('X removes', () => {
      assert.equal(find(elements, 0x00080081), undefined);
      assert.equal(find(elements, 0x00400275), undefined);
      assert.equal(find(elements, 0x50003000), undefined);
    });

    test('private attributes removed', () => {
      assert.equal(find(elements, 0x00090010), undefined);
      assert.equal(find(elements, 0x00091001), undefined);
    });

    test('K keeps', () => {
      assert.equal(textOf(elements, 0x00080060), 'OT');
      assert.equal(textOf(elements, 0x00080005), 'ISO_IR 100');
      assert.equal(textOf(elements, 0x00080016), UIDs.secondaryCapture);
    });

    test('U maps UIDs', () => {
      assert.equal(textOf(elements, 0x0020000d), mapUid(UIDs.study, options.uidSecret));
      assert.equal(result.StudyInstanceUID, mapUid(UIDs.study, options.uidSecret));
      assert.equal(result.SeriesInstanceUID, mapUid(UIDs.series, options.uidSecret));
      assert.equal(textOf(elements, 0x00200052), mapUid(UIDs.frameOfReference, options.uidSecret));
    });

    test('sequence items cleaned', () => {
      assert.equal(textOf(referenced, 0x00081155), mapUid(UIDs.referenced, options.uidSecret));
      assert.equal(textOf(referenced, 0x00081150), UIDs.secondaryCapture);
      assert.equal(textOf(referenced, 0x00080080), 'ANONYMIZED');
    });

    test('dates shifted', () => {
      assert.equal(textOf(elements, 0x00080020), '20200301');
      assert.equal(textOf(elements, 0x00080012), '20200201');
      assert.equal(textOf(elements, 0x0008002a), '20210101235959.5+0100');
      assert.equal(textOf(elements, 0x00080021), '');
      assert.equal(textOf(elements, 0x00181204), '20010102');
    });

    test('pseudonym and flags', () => {
      assert.equal(textOf(elements, 0x00100010), options.patientPseudonym);
      assert.equal(textOf(elements, 0x00100020), options.patientPseudonym);
      assert.equal(textOf(elements, 0x00120062), 'YES');
      assert.match(textOf(elements, 0x00120063) ?? '', /PS3\.15 2024b.*\\.*2024\.1$/);
      assert.equal(textOf(elements, 0x00280303), 'MODIFIED');
    });

    test('method code sequence', () => {
      const codes = (find(elements, 0x00120064)?.items ?? []).map((item) => [
        textOf(item.elements, 0x00080100),
        textOf(item.elements, 0x00080102),
      ]);
      assert.deepEqual(codes, [
        ['113100', 'DCM'],
        ['113107', 'DCM'],
      ]);
    });

    test('counts', () => {
      assert.equal(result.removed, 5);
      assert.ok(result.replaced >= 18, `replaced ${result.replaced}`);
    });

    test('pixel data unchanged', () => {
      assert.deepEqual([...(find(elements, PIXEL_DATA)?.value ?? [])], [1, 2, 3, 4]);
    });
  });
}

describe('deidentify errors', () => {
  test('truncated input', () => {
    const input = readFileSync(join(corpus, 'single', 'MR_small.dcm'));
    assert.throws(() => deidentify(input.subarray(0, 3000), options), /truncated/);
  });

  test('invalid pseudonym', () => {
    const input = sampleFile(true);
    assert.throws(
      () => deidentify(input, { ...options, patientPseudonym: 'Doe\\John' }),
      /invalid patientPseudonym/,
    );
  });

  test('profile version too long', () => {
    const file = join(__dirname, '..', 'config', 'deid-profile.json');
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    assert.throws(
      () => parseDeidProfile({ ...raw, version: 'v'.repeat(60) }, 'test profile'),
      /invalid de-identification profile test profile: version/,
    );
  });
});

describe('mapUid', () => {
  test('format and length', () => {
    const uid = mapUid(UIDs.study, options.uidSecret);
    assert.match(uid, /^2\.25\.(0|[1-9]\d*)$/);
    assert.ok(uid.length <= 64);
  });

  test('padding ignored', () => {
    const padded = mapUid(`${UIDs.study}\0`, options.uidSecret);
    assert.equal(mapUid(UIDs.study, options.uidSecret), padded);
  });

  test('depends on secret and input', () => {
    const uid = mapUid(UIDs.study, options.uidSecret);
    assert.notEqual(mapUid(UIDs.study, Buffer.from('other')), uid);
    assert.notEqual(mapUid(UIDs.series, options.uidSecret), uid);
  });
});

describe('date shifting', () => {
  test('DA across leap day and year', () => {
    assert.equal(shiftDate('20200228', 1), '20200229');
    assert.equal(shiftDate('19991231', 1), '20000101');
    assert.equal(shiftDate('2020.03.01', -1), '20200229');
  });

  test('DA invalid', () => {
    assert.equal(shiftDate('20200230', 1), undefined);
    assert.equal(shiftDate('2020', 1), undefined);
  });

  test('DT keeps time and precision', () => {
    assert.equal(shiftDateTime('2020', -1), '2019');
    assert.equal(shiftDateTime('202003', -1), '202002');
    assert.equal(shiftDateTime('20200301120000.123456-0500', -1), '20200229120000.123456-0500');
    assert.equal(shiftDateTime('2020030112x', -1), undefined);
  });
});
