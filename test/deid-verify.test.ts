import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { profileVr } from '../src/deid/actions';
import { deidentify, dropOwnValues, type DeidentifyResult } from '../src/deid/deidentify';
import { addKnownValue, emptyIdentifiers, findIdentifier } from '../src/deid/identifiers';
import { loadDeidProfile, type DeidOptions } from '../src/deid/profile-config';
import { scanOutput, type Leak } from '../src/deid/verify';
import { PIXEL_DATA, type DicomElement } from '../src/dicom/element-tree';
import { TransferSyntax } from '../src/dicom/tags';
import { writePart10 } from '../src/dicom/write';

const corpus = join(__dirname, '..', '..', 'shared', 'dicom');
const manifest: Array<{ path: string; expect: string }> = JSON.parse(
  readFileSync(join(corpus, 'manifest.json'), 'utf8'),
);
const shipped = loadDeidProfile();
const ALL_ON: DeidOptions = {
  retainLongitudinalTemporalInformationModifiedDates: true,
  retainPatientCharacteristics: true,
  retainDeviceIdentity: true,
  retainSafePrivate: true,
  cleanDescriptors: true,
};
const PSEUDONYM = 'ANONVER1';
const scratch = mkdtempSync(join(tmpdir(), 'deid-verify-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Error lines of a tool, with numbers and UIDs blanked out because the output has new UIDs. */
function errorLines(tool: string, file: string): string[] {
  const run = spawnSync(tool, [file], { encoding: 'latin1' });
  return `${run.stdout}${run.stderr}`
    .split('\n')
    .filter((line) => /^(E:|Error)/.test(line))
    .map((line) => line.replace(/\b[0-9]+(\.[0-9]+)*\b/g, '<number>'));
}

/** dciodvfy errors of an input; a deflated input, which dciodvfy cannot read, is inflated first. */
function inputErrors(file: string): string[] {
  const errors = errorLines('dciodvfy', file);
  if (!errors.some((line) => line.includes('Dicom dataset read failed'))) return errors;
  const inflated = join(scratch, 'inflated.dcm');
  const convert = spawnSync('dcmconv', ['+te', file, inflated], { encoding: 'latin1' });
  assert.equal(convert.status, 0, convert.stderr);
  return errorLines('dciodvfy', inflated);
}

function deidentified(input: Buffer, options: DeidOptions = ALL_ON): DeidentifyResult {
  return deidentify(input, {
    uidSecret: Buffer.from('verify secret'),
    patientPseudonym: PSEUDONYM,
    dateOffsetDays: -21,
    profile: { ...shipped, options },
  });
}

function scan(result: DeidentifyResult): Leak[] {
  dropOwnValues(result.identifiers, PSEUDONYM);
  return scanOutput(result.bytes, result.identifiers, profileVr);
}

function element(tag: number, vr: string, value: string): DicomElement {
  return { tag, vr, value: Buffer.from(value, 'latin1'), undefinedLength: false };
}

function sequence(tag: number, elements: DicomElement[]): DicomElement {
  return { tag, vr: 'SQ', undefinedLength: false, items: [{ undefinedLength: false, elements }] };
}

function fileWith(planted: DicomElement[]): Buffer {
  const elements = [
    element(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.2'),
    element(0x00080018, 'UI', '1.2.826.0.1.3680043.2.1143.55.1'),
    element(0x00080020, 'DA', '20190304'),
    element(0x00080050, 'SH', 'ACC778899'),
    element(0x00080060, 'CS', 'CT'),
    element(0x00080080, 'LO', 'Saint Elsewhere Hospital'),
    element(0x00100010, 'PN', 'Kowalski^Janina'),
    element(0x00100020, 'LO', 'MRN-314159'),
    element(0x0020000d, 'UI', '1.2.826.0.1.3680043.2.1143.55'),
    { tag: PIXEL_DATA, vr: 'OW', value: Buffer.alloc(16, 0x41), undefinedLength: false },
    ...planted,
  ];
  return writePart10(
    {
      explicitVR: true,
      littleEndian: true,
      transferSyntaxUID: TransferSyntax.ExplicitVRLittleEndian,
      elements,
    },
    {
      MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      MediaStorageSOPInstanceUID: '1.2.826.0.1.3680043.2.1143.55.1',
    },
  );
}

describe('leak scan on planted identifiers', () => {
  test('clean file has no leak', () => {
    assert.deepEqual(scan(deidentified(fileWith([]))), []);
  });

  test('name in safe private attribute', () => {
    const planted = [
      element(0x00190010, 'LO', 'SIEMENS MR HEADER'),
      element(0x0019100c, 'LO', 'Kowalski^Janina'),
    ];
    assert.deepEqual(scan(deidentified(fileWith(planted))), [
      { path: '(0019,100C)', kind: 'person name' },
    ]);
  });

  test('accession number three levels deep', () => {
    const planted = [
      sequence(0x00540016, [
        sequence(0x00540300, [sequence(0x00540302, [element(0x00080104, 'LO', 'ACC778899')])]),
      ]),
    ];
    assert.deepEqual(scan(deidentified(fileWith(planted))), [
      { path: '(0054,0016)[0]>(0054,0300)[0]>(0054,0302)[0]>(0008,0104)', kind: 'AccessionNumber' },
    ]);
  });

  test('patient ID in UN element', () => {
    const planted = [{ ...element(0x00080070, 'UN', 'made by MRN-314159'), vr: 'UN' }];
    assert.deepEqual(scan(deidentified(fileWith(planted))), [
      { path: '(0008,0070)', kind: 'PatientID' },
    ]);
  });

  test('original UID in UN sequence', () => {
    // An unlisted sequence, encoded as UN: implicit VR little endian items inside.
    const item = Buffer.alloc(8 + 8 + 30);
    item.writeUInt16LE(0xfffe, 0);
    item.writeUInt16LE(0xe000, 2);
    item.writeUInt32LE(38, 4);
    item.writeUInt16LE(0x0018, 8);
    item.writeUInt16LE(0x9999, 10);
    item.writeUInt32LE(30, 12);
    item.write('1.2.826.0.1.3680043.2.1143.55\0', 16, 'latin1');
    const planted = [{ tag: 0x00189998, vr: 'UN', value: item, undefinedLength: false }];
    assert.deepEqual(scan(deidentified(fileWith(planted))), [
      { path: '(0018,9998)[0]>(0018,9999)', kind: 'UID' },
    ]);
  });

  test('free text with patient name', () => {
    const planted = [element(0x00181020, 'LO', 'for Janina Kowalski')];
    assert.deepEqual(scan(deidentified(fileWith(planted))), [
      { path: '(0018,1020)', kind: 'person name' },
    ]);
  });

  test('unshifted date in kept text', () => {
    const planted = [element(0x00181019, 'LO', 'build 20190304')];
    assert.deepEqual(scan(deidentified(fileWith(planted))), [
      { path: '(0018,1019)', kind: 'date' },
    ]);
  });

  test('institution in kept attribute', () => {
    const planted = [element(0x00181016, 'LO', 'Saint Elsewhere Hospital')];
    assert.deepEqual(scan(deidentified(fileWith(planted))), [
      { path: '(0018,1016)', kind: 'InstitutionName' },
    ]);
  });

  test('batch identifier from another image', () => {
    const planted = [element(0x00181020, 'LO', 'see MRN-999000')];
    const result = deidentified(fileWith(planted));
    const batch = emptyIdentifiers();
    addKnownValue(batch, 'PatientID', 'MRN-999000');
    assert.deepEqual(scanOutput(result.bytes, [result.identifiers, batch], profileVr), [
      { path: '(0018,1020)', kind: 'PatientID' },
    ]);
  });

  test('raw bytes outside elements', () => {
    const result = deidentified(fileWith([]));
    const bytes = Buffer.from(result.bytes);
    bytes.write('MRN-314159', 0, 'latin1');
    assert.deepEqual(scanOutput(bytes, result.identifiers, profileVr), [
      { path: 'byte offset 0', kind: 'PatientID' },
    ]);
  });
});

describe('findIdentifier matching', () => {
  const identifiers = emptyIdentifiers();
  addKnownValue(identifiers, 'PatientID', 'A12');
  addKnownValue(identifiers, 'AccessionNumber', '20457');
  addKnownValue(identifiers, 'PatientName', 'Smith^Anna');
  const find = (text: string, vr = 'LO') =>
    findIdentifier(0x00181020, Buffer.from(text, 'latin1'), vr, identifiers);

  test('short value as word', () => assert.equal(find('ref A12 ok'), 'PatientID'));
  test('short value inside word', () => assert.equal(find('XA123'), undefined));
  test('number inside number', () => assert.equal(find('1204571'), undefined));
  test('number as word', () => assert.equal(find('acc 20457'), 'AccessionNumber'));
  test('whole name any case', () => assert.equal(find('smith^anna'), 'person name'));
  test('batch name parts ignored', () => assert.equal(find('Anna'), undefined));
  test('UI only UIDs', () => assert.equal(find('A12', 'UI'), undefined));
});

describe('every option on, corpus', () => {
  for (const entry of manifest.filter((candidate) => candidate.expect === 'import')) {
    test(entry.path, () => {
      const input = join(corpus, entry.path);
      const result = deidentified(readFileSync(input));
      assert.deepEqual(scan(result), []);

      const output = join(scratch, 'out.dcm');
      writeFileSync(output, result.bytes);
      const dump = spawnSync('dcmdump', ['-q', output], { encoding: 'latin1' });
      assert.equal(dump.status, 0, dump.stderr);
      const before = inputErrors(input);
      const added = errorLines('dciodvfy', output).filter((line) => !before.includes(line));
      assert.deepEqual(added, []);
    });
  }
});
