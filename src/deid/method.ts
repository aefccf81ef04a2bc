import type { DicomElement, DicomItem } from '../dicom/element-tree';
import type { DeidOptions } from './profile-config';

/** The edition of PS3.15 whose Table E.1-1 ./profile and ./profile-options hold. */
export const PROFILE_EDITION = 'PS3.15 2024b';

/** CID 7050 De-identification Method codes (PS3.16), coding scheme DCM, one per option. */
const OPTION_CODES: ReadonlyArray<[keyof DeidOptions, string, string]> = [
  ['cleanDescriptors', '113105', 'Clean Descriptors Option'],
  [
    'retainLongitudinalTemporalInformationModifiedDates',
    '113107',
    'Retain Longitudinal Temporal Information Modified Dates Option',
  ],
  ['retainPatientCharacteristics', '113108', 'Retain Patient Characteristics Option'],
  ['retainDeviceIdentity', '113109', 'Retain Device Identity Option'],
  ['retainSafePrivate', '113111', 'Retain Safe Private Option'],
];

const BASIC_PROFILE_CODE = ['113100', 'Basic Application Confidentiality Profile'] as const;

/**
 * Builds the attributes that record the de-identification (PS3.15 E.1.1, PS3.3 C.7.1.1):
 * PatientIdentityRemoved, DeidentificationMethod (edition, options on, rule version),
 * DeidentificationMethodCodeSequence (113100 and one code per option on) and
 * LongitudinalTemporalInformationModified (MODIFIED, or REMOVED when dates are not retained).
 */
export function deidentificationElements(
  options: DeidOptions,
  ruleVersion: string,
): DicomElement[] {
  const on = OPTION_CODES.filter(([option]) => options[option]);
  const methods = [
    `${PROFILE_EDITION} ${BASIC_PROFILE_CODE[1]}`,
    ...on.map(([, , meaning]) => meaning),
    `dicom-import rules ${ruleVersion}`,
  ];
  for (const method of methods) {
    if (method.length > 64 || !/^[\x20-\x5b\x5d-\x7e]*$/.test(method)) {
      throw new Error(`invalid rule version "${ruleVersion}": too long or not printable ASCII`);
    }
  }

  const codes = [BASIC_PROFILE_CODE, ...on.map(([, value, meaning]) => [value, meaning] as const)];
  const items: DicomItem[] = codes.map(([value, meaning]) => ({
    undefinedLength: false,
    elements: [
      textElement(0x00080100, 'SH', value),
      textElement(0x00080102, 'SH', 'DCM'),
      textElement(0x00080104, 'LO', meaning),
    ],
  }));
  const shifted = options.retainLongitudinalTemporalInformationModifiedDates;

  return [
    textElement(0x00120062, 'CS', 'YES'),
    textElement(0x00120063, 'LO', methods.join('\\')),
    { tag: 0x00120064, vr: 'SQ', items, undefinedLength: false },
    textElement(0x00280303, 'CS', shifted ? 'MODIFIED' : 'REMOVED'),
  ];
}

export function textElement(tag: number, vr: string, text: string): DicomElement {
  return { tag, vr, value: Buffer.from(text, 'latin1'), undefinedLength: false };
}
