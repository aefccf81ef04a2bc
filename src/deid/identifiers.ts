import type { DicomElement } from '../dicom/element-tree';
import { KEPT_UID_TAGS } from './profile';
import { isStandardUid } from './uids';

/**
 * Original identifiers of a batch or an image, as latin1 strings of their bytes (so non-ASCII
 * values compare byte for byte). `values` are whole values searched as substrings; `nameParts`
 * are components of person names, matched as whole words of text values only.
 */
export interface Identifiers {
  values: Map<string, string>;
  nameParts: Map<string, string>;
  uids: Set<string>;
  dates: Set<string>;
}

/** Shortest whole value searched; shorter IDs such as `1` would match by chance. */
export const MIN_VALUE_LENGTH = 3;

/** Shortest identifier searched in binary values and in the raw bytes, to avoid chance matches. */
export const MIN_BINARY_LENGTH = 6;

/** Binary VRs of bulk data, which carry no identifier that this collection reads. */
const BULK_VRS = new Set(['OB', 'OW', 'OF', 'OD', 'OL', 'OV']);

const PIXEL_DATA = 0x7fe00010;

/** Numeric VRs, whose short values would match text identifiers only by chance. */
const NUMERIC_VRS = new Set(['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'AT', 'SV', 'UV']);

/** Attributes whose values identify a patient, a visit, an institution or a person. */
const IDENTIFYING_TAGS: ReadonlyMap<number, string> = new Map([
  [0x00100020, 'PatientID'],
  [0x00101000, 'OtherPatientIDs'],
  [0x00100021, 'IssuerOfPatientID'],
  [0x00080050, 'AccessionNumber'],
  [0x00200010, 'StudyID'],
  [0x00380010, 'AdmissionID'],
  [0x00401001, 'RequestedProcedureID'],
  [0x00400009, 'ScheduledProcedureStepID'],
  [0x00400253, 'PerformedProcedureStepID'],
  [0x00080080, 'InstitutionName'],
  [0x00080081, 'InstitutionAddress'],
  [0x00081040, 'InstitutionalDepartmentName'],
  [0x00080092, 'ReferringPhysicianAddress'],
  [0x00080094, 'ReferringPhysicianTelephoneNumbers'],
  [0x00101040, 'PatientAddress'],
  [0x00102154, 'PatientTelephoneNumbers'],
  [0x00100050, 'PatientInsurancePlanCodeSequence'],
  [0x00101002, 'OtherPatientIDsSequence'],
]);

/** Returns an empty set of identifiers. */
export function emptyIdentifiers(): Identifiers {
  return { values: new Map(), nameParts: new Map(), uids: new Set(), dates: new Set() };
}

/**
 * Collects the identifiers of a data set at every depth. These are every person name (VR PN), the
 * IDs, accession numbers, institution names and addresses, and every UID the profile maps. Dates
 * (DA, and the date of DT) count where `isDateChanged` is true. `vrOf` supplies implicit VRs.
 */
export function collectIdentifiers(
  elements: DicomElement[],
  vrOf: (tag: number) => string | undefined,
  isDateChanged: (tag: number, vr: string) => boolean,
  into: Identifiers = emptyIdentifiers(),
): Identifiers {
  for (const element of elements) {
    for (const item of element.items ?? []) {
      collectIdentifiers(item.elements, vrOf, isDateChanged, into);
    }
    if (!element.value || element.items) continue;

    const vr = element.vr ?? vrOf(element.tag);
    // Bulk binary values (pixel data above all) feed none of the branches below: decoding them
    // as text only costs time.
    const bulk = element.tag === PIXEL_DATA || (vr !== undefined && BULK_VRS.has(vr));
    if (bulk && !IDENTIFYING_TAGS.has(element.tag)) continue;
    const text = Buffer.from(element.value).toString('latin1').replace(/[\0 ]+$/, '');
    if (vr === 'PN') addPersonName(into, text);
    else if (vr === 'UI') addUids(into, element.tag, text);
    else if ((vr === 'DA' || vr === 'DT') && isDateChanged(element.tag, vr)) addDates(into, text);
    if (IDENTIFYING_TAGS.has(element.tag)) {
      addValue(into, text, IDENTIFYING_TAGS.get(element.tag)!);
    } else if (vr === undefined || vr === 'UN') {
      addUids(into, element.tag, text);
    }
  }
  return into;
}

/**
 * Adds one PatientName, PatientID or other value known from the database, not from a header.
 * A name is added as a whole value only: components of other patients' names, such as FIRST or
 * TEST in test data, would match ordinary words of this image by chance.
 */
export function addKnownValue(into: Identifiers, kind: string, text: string): void {
  if (kind.endsWith('UID')) addUids(into, 0, text);
  else if (kind.endsWith('Date')) addDates(into, text);
  else addValue(into, text, kind.endsWith('Name') ? 'person name' : kind);
}

function addValue(into: Identifiers, text: string, kind: string): void {
  for (const value of text.split('\\')) {
    const trimmed = value.trim();
    if (isSearchable(trimmed)) into.values.set(trimmed.toUpperCase(), kind);
  }
}

/** Long enough not to match by chance, and more than separators such as `^^^^`. */
function isSearchable(value: string): boolean {
  return value.length >= MIN_VALUE_LENGTH && /[\p{L}\p{N}]/u.test(value);
}

function addPersonName(into: Identifiers, text: string): void {
  for (const value of text.split('\\')) {
    const trimmed = value.trim();
    if (isSearchable(trimmed)) into.values.set(trimmed.toUpperCase(), 'person name');
    // Components of every representation (alphabetic, ideographic, phonetic) of the name.
    for (const part of trimmed.split(/[=^]/)) {
      const word = part.trim();
      if (isSearchable(word)) into.nameParts.set(word.toUpperCase(), 'person name');
    }
  }
}

/** UID-shaped values only: a value of an unknown VR is a UID when it looks like one. */
function addUids(into: Identifiers, tag: number, text: string): void {
  if (KEPT_UID_TAGS.has(tag)) return;
  for (const value of text.split('\\')) {
    const uid = value.replace(/[\0 ]+$/, '').trim();
    if (!/^[0-2](\.(0|[1-9][0-9]*)){3,}$/.test(uid) || uid.length > 64) continue;
    if (!isStandardUid(uid)) into.uids.add(uid);
  }
}

function addDates(into: Identifiers, text: string): void {
  for (const value of text.split('\\')) {
    const date = value.trim().replace(/\./g, '').slice(0, 8);
    if (/^\d{8}$/.test(date)) into.dates.add(date);
  }
}

/** Code Sequence Macro attributes, whose coded words would match name components by chance. */
const CODE_TAGS = new Set([0x00080100, 0x00080102, 0x00080103, 0x00080104, 0x00080119, 0x00080120]);

/** Manufacturer and ManufacturerModelName, which test data often shares with InstitutionName. */
export const MANUFACTURER_TAGS = new Set([0x00080070, 0x00081090]);

/**
 * Returns the kind of the first identifier found in one value of attribute `tag`, or undefined.
 * Whole values, UIDs and dates match as substrings, with the limits of indexOfValue, and in
 * binary values only the long ones. Name components match as whole words of text values other
 * than codes. A UI value is searched for UIDs only.
 * NOTE: an institution name is not searched in Manufacturer or ManufacturerModelName.
 */
export function findIdentifier(
  tag: number,
  value: Uint8Array,
  vr: string | undefined,
  identifiers: Identifiers,
): string | undefined {
  if (vr !== undefined && NUMERIC_VRS.has(vr)) return undefined;
  const text = Buffer.from(value).toString('latin1').toUpperCase();
  if (vr === 'UI') return findUid(text, identifiers.uids) >= 0 ? 'UID' : undefined;
  const binary = vr === undefined || vr.startsWith('O') || vr === 'UN';
  const minimum = binary ? MIN_BINARY_LENGTH : 0;

  for (const [identifier, kind] of identifiers.values) {
    if (MANUFACTURER_TAGS.has(tag) && kind.startsWith('Institution')) continue;
    if (identifier.length >= minimum && indexOfValue(text, identifier) >= 0) return kind;
  }
  if (findUid(text, identifiers.uids) >= 0) return 'UID';
  if (findDate(text, identifiers.dates) >= 0) return 'date';
  if (binary || vr === 'CS' || CODE_TAGS.has(tag)) return undefined;

  const words = new Set(text.split(/[^\p{L}\p{N}\x1b$()]+/u));
  for (const [part, kind] of identifiers.nameParts) if (words.has(part)) return kind;
  return undefined;
}

/**
 * Returns the offset of `value` in `text`, or -1. A short value (under MIN_BINARY_LENGTH
 * characters) matches only as a whole word, and an all-digit value never inside a longer number.
 */
export function indexOfValue(text: string, value: string): number {
  const isDigits = /^\d+$/.test(value);
  if (!isDigits && value.length >= MIN_BINARY_LENGTH) return text.indexOf(value);

  const joins = isDigits ? isDigit : isWordCharacter;
  let from = text.indexOf(value);
  while (from >= 0) {
    const before = text.charCodeAt(from - 1);
    const after = text.charCodeAt(from + value.length);
    if (!joins(before) && !joins(after)) return from;
    from = text.indexOf(value, from + 1);
  }
  return -1;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isWordCharacter(code: number): boolean {
  return !Number.isNaN(code) && /[\p{L}\p{N}]/u.test(String.fromCharCode(code));
}

/** Returns the offset of a whole UID of `uids` in `text`, or -1. */
export function findUid(text: string, uids: ReadonlySet<string>): number {
  if (uids.size === 0) return -1;
  for (const match of text.matchAll(/[0-9.]{7,64}/g)) {
    if (uids.has(match[0].replace(/\.+$/, ''))) return match.index;
  }
  return -1;
}

/** Returns the offset of a date of `dates` in `text`, or -1, also inside longer runs of digits. */
export function findDate(text: string, dates: ReadonlySet<string>): number {
  if (dates.size === 0) return -1;
  for (const match of text.matchAll(/\d{8,}/g)) {
    for (let start = 0; start + 8 <= match[0].length; start += 1) {
      if (dates.has(match[0].slice(start, start + 8))) return match.index + start;
    }
  }
  return -1;
}
