import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { profileVr } from '../src/deid/actions';
import { burnedInReason } from '../src/deid/burned-in';
import { deidentify, type DeidentifyOptions } from '../src/deid/deidentify';
import {
  loadDeidProfile,
  parseDeidProfile,
  type DeidOptions,
  type DeidProfile,
} from '../src/deid/profile-config';
import { mapUid } from '../src/deid/uids';
import {
  PIXEL_DATA,
  parseElementTree,
  type DicomElement,
} from '../src/dicom/element-tree';
import { readDicom } from '../src/dicom/read';
import { TransferSyntax } from '../src/dicom/tags';
import { writePart10 } from '../src/dicom/write';

const shipped = loadDeidProfile();
const OFF: DeidOptions = {
  retainLongitudinalTemporalInformationModifiedDates: false,
  retainPatientCharacteristics: false,
  retainDeviceIdentity: false,
  retainSafePrivate: false,
  cleanDescriptors: false,
};

function profileWith(on: Partial<DeidOptions>): DeidProfile {
  return { ...shipped, options: { ...OFF, ...on } };
}

function run(on: Partial<DeidOptions>, elements = sampleElements()) {
  const options: DeidentifyOptions = {
    uidSecret: Buffer.from('options secret'),
    patientPseudonym: 'ANONOPT1',
    dateOffsetDays: 10,
    profile: profileWith(on),
  };
  const result = deidentify(fileOf(elements), options);
  const tree = parseElementTree(readDicom(result.bytes), profileVr);
  return { result, elements: tree.elements };
}

function element(tag: number, vr: string, value: string | Buffer): DicomElement {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  return { tag, vr, value: bytes, undefinedLength: false };
}

function sequence(tag: number, elements: DicomElement[]): DicomElement {
  return { tag, vr: 'SQ', undefinedLength: false, items: [{ undefinedLength: false, elements }] };
}

function fileOf(elements: DicomElement[], explicitVR = true): Buffer {
  const transferSyntaxUID = explicitVR
    ? TransferSyntax.ExplicitVRLittleEndian
    : TransferSyntax.ImplicitVRLittleEndian;
  return writePart10(
    { explicitVR, littleEndian: true, transferSyntaxUID, elements },
    {
      MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      MediaStorageSOPInstanceUID: '1.2.3.4.5',
    },
  );
}

function find(elements: DicomElement[], tag: number): DicomElement | undefined {
  return elements.find((candidate) => candidate.tag === tag);
}

function textOf(elements: DicomElement[], tag: number): string | undefined {
  const value = find(elements, tag)?.value;
  return value && Buffer.from(value).toString('latin1').replace(/[\0 ]+$/, '');
}

/** Builds a CT header with attributes from the rows of each option. */
function sampleElements(): DicomElement[] {
  return [
    element(0x00080005, 'CS', 'ISO_IR 100'),
    element(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.2'),
    element(0x00080018, 'UI', '1.2.3.4.5'),
    element(0x00080020, 'DA', '20200110'),
    element(0x00080030, 'TM', '083000'),
    element(0x00080060, 'CS', 'CT'),
    element(0x00080070, 'LO', 'ACME Scanners'),
    element(0x00081010, 'SH', 'CTROOM7'),
    element(0x0008103e, 'LO', 'Chest for Doe'),
    element(0x00081030, 'LO', 'Thorax routine'),
    element(0x00090010, 'LO', 'SIEMENS MR HEADER'),
    element(0x0009100c, 'IS', '1000'),
    element(0x00190010, 'LO', 'SIEMENS MR HEADER'),
    element(0x0019100c, 'IS', '800'),
    element(0x0019100f, 'LO', 'unlisted private'),
    element(0x00191110, 'LO', 'other block'),
    element(0x00190011, 'LO', 'OTHER CREATOR'),
    element(0x00100010, 'PN', 'Doe^John'),
    element(0x00100020, 'LO', 'PID-77'),
    element(0x00100030, 'DA', '19600229'),
    element(0x00100040, 'CS', 'M'),
    element(0x00101010, 'AS', '059Y'),
    element(0x00101030, 'DS', '81.5'),
    element(0x00181000, 'LO', 'SN-4711'),
    element(0x00181200, 'DA', '20191231'),
    element(0x0020000d, 'UI', '1.2.3.4'),
    element(0x0020000e, 'UI', '1.2.3.4.1'),
    element(0x00204000, 'LT', 'Patient cooperative'),
    { tag: PIXEL_DATA, vr: 'OW', value: Buffer.from([9, 8, 7, 6]), undefinedLength: false },
  ];
}

describe('option off: basic profile', () => {
  const { elements } = run({});

  test('dates removed or emptied', () => {
    assert.equal(textOf(elements, 0x00080020), '');
    assert.equal(find(elements, 0x00181200), undefined);
  });
  test('times emptied', () => assert.equal(textOf(elements, 0x00080030), ''));
  test('characteristics removed', () => {
    assert.equal(textOf(elements, 0x00100040), '');
    assert.equal(find(elements, 0x00101010), undefined);
    assert.equal(find(elements, 0x00101030), undefined);
  });
  test('device identity replaced', () => {
    assert.equal(textOf(elements, 0x00181000), 'ANONYMIZED');
    assert.equal(textOf(elements, 0x00081010), 'ANONYMIZED');
  });
  test('descriptors removed', () => {
    assert.equal(find(elements, 0x0008103e), undefined);
    assert.equal(find(elements, 0x00204000), undefined);
  });
  test('every private removed', () => {
    const privateTags = elements.filter((candidate) => (candidate.tag >>> 16) % 2 === 1);
    assert.deepEqual(privateTags, []);
  });
  test('temporal flag REMOVED', () => assert.equal(textOf(elements, 0x00280303), 'REMOVED'));
  test('method codes basic only', () => {
    const items = find(elements, 0x00120064)?.items ?? [];
    assert.deepEqual(items.map((item) => textOf(item.elements, 0x00080100)), ['113100']);
  });
});

describe('retain modified dates', () => {
  const { elements } = run({ retainLongitudinalTemporalInformationModifiedDates: true });

  test('listed date shifted', () => assert.equal(textOf(elements, 0x00080020), '20200120'));
  test('device date shifted', () => assert.equal(textOf(elements, 0x00181200), '20200110'));
  test('time kept', () => assert.equal(textOf(elements, 0x00080030), '083000'));
  test('birth date emptied', () => assert.equal(textOf(elements, 0x00100030), ''));
  test('temporal flag MODIFIED', () => assert.equal(textOf(elements, 0x00280303), 'MODIFIED'));
  test('birth date shifted when configured', () => {
    const options: DeidentifyOptions = {
      uidSecret: Buffer.from('k'),
      patientPseudonym: 'ANONOPT1',
      dateOffsetDays: 1,
      profile: {
        ...profileWith({ retainLongitudinalTemporalInformationModifiedDates: true }),
        shiftPatientBirthDate: true,
      },
    };
    const out = deidentify(fileOf(sampleElements()), options);
    const tree = parseElementTree(readDicom(out.bytes), profileVr);
    assert.equal(textOf(tree.elements, 0x00100030), '19600301');
  });
});

describe('retain patient characteristics', () => {
  const { elements } = run({ retainPatientCharacteristics: true });

  test('sex kept', () => assert.equal(textOf(elements, 0x00100040), 'M'));
  test('age kept', () => assert.equal(textOf(elements, 0x00101010), '059Y'));
  test('weight kept', () => assert.equal(textOf(elements, 0x00101030), '81.5'));
  test('name still replaced', () => assert.equal(textOf(elements, 0x00100010), 'ANONOPT1'));
});

describe('retain device identity', () => {
  const { elements } = run({ retainDeviceIdentity: true });

  test('serial number kept', () => assert.equal(textOf(elements, 0x00181000), 'SN-4711'));
  test('station name kept', () => assert.equal(textOf(elements, 0x00081010), 'CTROOM7'));
  test('calibration date kept', () => assert.equal(textOf(elements, 0x00181200), '20191231'));
});

describe('retain safe private', () => {
  const { elements } = run({ retainSafePrivate: true });

  test('safe attribute kept', () => assert.equal(textOf(elements, 0x0019100c), '800'));
  test('its creator kept', () => assert.equal(textOf(elements, 0x00190010), 'SIEMENS MR HEADER'));
  test('unlisted element removed', () => assert.equal(find(elements, 0x0019100f), undefined));
  test('other block removed', () => {
    assert.equal(find(elements, 0x00191110), undefined);
    assert.equal(find(elements, 0x00190011), undefined);
  });
  test('wrong group removed', () => {
    assert.equal(find(elements, 0x0009100c), undefined);
    assert.equal(find(elements, 0x00090010), undefined);
  });
  test('UN-encoded safe attribute kept', () => {
    const input = sampleElements().map((candidate) =>
      candidate.tag === 0x0019100c ? { ...candidate, vr: 'UN' } : candidate,
    );
    const out = run({ retainSafePrivate: true }, input).elements;
    assert.equal(textOf(out, 0x0019100c), '800');
  });
  test('UN-encoded private removed', () => {
    const input = sampleElements().map((candidate) =>
      candidate.tag === 0x0019100f ? { ...candidate, vr: 'UN' } : candidate,
    );
    assert.equal(find(run({ retainSafePrivate: true }, input).elements, 0x0019100f), undefined);
  });
});

describe('clean descriptors', () => {
  const { elements } = run({ cleanDescriptors: true });

  test('clean descriptor kept', () => assert.equal(textOf(elements, 0x00081030), 'Thorax routine'));
  test('comment kept', () => assert.equal(textOf(elements, 0x00204000), 'Patient cooperative'));
  test('name in descriptor replaced', () => {
    assert.equal(textOf(elements, 0x0008103e), 'ANONYMIZED');
  });
});

describe('method records options', () => {
  const all = {
    retainLongitudinalTemporalInformationModifiedDates: true,
    retainPatientCharacteristics: true,
    retainDeviceIdentity: true,
    retainSafePrivate: true,
    cleanDescriptors: true,
  };
  const { elements } = run(all);
  const items = find(elements, 0x00120064)?.items ?? [];

  test('CID 7050 codes', () => {
    const codes = items.map((item) => textOf(item.elements, 0x00080100));
    assert.deepEqual(codes, ['113100', '113105', '113107', '113108', '113109', '113111']);
  });
  test('coding scheme DCM', () => {
    const schemes = new Set(items.map((item) => textOf(item.elements, 0x00080102)));
    assert.deepEqual([...schemes], ['DCM']);
  });
  test('method names options and version', () => {
    const method = (textOf(elements, 0x00120063) ?? '').split('\\');
    assert.equal(method[0], 'PS3.15 2024b Basic Application Confidentiality Profile');
    assert.equal(method.includes('Retain Safe Private Option'), true);
    assert.equal(method[method.length - 1], `dicom-import rules ${shipped.version}`);
  });
  test('identity removed flag', () => assert.equal(textOf(elements, 0x00120062), 'YES'));
  test('UIDs mapped', () => {
    assert.equal(textOf(elements, 0x0020000d), mapUid('1.2.3.4', Buffer.from('options secret')));
  });
});

describe('profile file', () => {
  const file = join(__dirname, '..', 'config', 'deid-profile.json');
  const raw = JSON.parse(readFileSync(file, 'utf8'));

  test('shipped file valid', () => assert.match(shipped.version, /^\d{4}\.\d+$/));
  test('unknown option rejected', () => {
    const options = { ...raw.options, retainEverything: true };
    assert.throws(() => parseDeidProfile({ ...raw, options }, file), /options/);
  });
  test('missing option rejected', () => {
    const { cleanDescriptors: _unused, ...options } = raw.options;
    assert.throws(() => parseDeidProfile({ ...raw, options }, file), /cleanDescriptors/);
  });
  test('even private group rejected', () => {
    const safePrivate = [{ creator: 'X', group: '0018', element: '10', keyword: 'X' }];
    assert.throws(() => parseDeidProfile({ ...raw, safePrivate }, file), /private group is odd/);
  });
  test('missing file named', () => {
    const missing = '/nonexistent/profile.json';
    assert.throws(() => loadDeidProfile(missing), /\/nonexistent\/profile\.json/);
  });
});

describe('burned-in annotation', () => {
  const ct = { SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', Modality: 'CT' };
  const sc = { SOPClassUID: '1.2.840.10008.5.1.4.1.1.7', Modality: 'OT' };

  test('YES held', () => {
    assert.match(burnedInReason({ ...ct, BurnedInAnnotation: 'YES' }, shipped) ?? '', /YES/);
  });
  test('CT without flag released', () => {
    assert.equal(burnedInReason({ ...ct, BurnedInAnnotation: '' }, shipped), undefined);
  });
  test('secondary capture held', () => {
    assert.match(burnedInReason({ ...sc, BurnedInAnnotation: '' }, shipped) ?? '', /SOP class/);
  });
  test('ultrasound modality held', () => {
    const us = { SOPClassUID: '1.2.3', Modality: 'US', BurnedInAnnotation: '' };
    assert.match(burnedInReason(us, shipped) ?? '', /modality US/);
  });
  test('NO releases capture', () => {
    assert.equal(burnedInReason({ ...sc, BurnedInAnnotation: 'NO' }, shipped), undefined);
  });
});
