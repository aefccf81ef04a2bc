import {
  PIXEL_DATA,
  formatTag,
  parseElementTree,
  type DicomElement,
} from '../dicom/element-tree';
import { readDicom } from '../dicom/read';
import {
  MANUFACTURER_TAGS,
  MIN_BINARY_LENGTH,
  findDate,
  findIdentifier,
  findUid,
  indexOfValue,
  type Identifiers,
} from './identifiers';
import { interpretUn } from './un';

/** One original identifier found in an output: where, and what kind of value (never the value). */
export interface Leak {
  /** Attribute path such as `(0040,A730)[0]>(0040,A160)`, or `byte offset N` outside any value. */
  path: string;
  kind: string;
}


/** Bulk data whose bytes are samples, not text: pixel data, waveform samples. */
const SAMPLE_TAGS = new Set([PIXEL_DATA, 0x7fe00008, 0x7fe00009, 0x54001010]);


/**
 * Scans a de-identified file for original identifiers, in two independent ways: every parsed value
 * at every depth (UN values interpreted where they parse), then the file's bytes outside the
 * sample data. Returns one Leak per attribute (or byte offset) that contains an identifier.
 * `identifiers` may be several sets, such as the batch's and the image's, searched in turn.
 * NOTE: two dates exactly the offset apart look like an unshifted date and are reported as a leak.
 * Times are not searched, because whole-day shifts keep them.
 */
export function scanOutput(
  bytes: Buffer,
  identifiers: Identifiers | readonly Identifiers[],
  vrOf: (tag: number) => string | undefined,
): Leak[] {
  const sets = Array.isArray(identifiers) ? identifiers : [identifiers as Identifiers];
  const read = readDicom(bytes);
  const tree = parseElementTree(read, vrOf);
  const leaks: Leak[] = [];
  scanElements(tree.elements, '', sets, vrOf, leaks);
  if (leaks.length > 0) return leaks;

  const sampleRanges = tree.elements
    .filter((element) => SAMPLE_TAGS.has(element.tag))
    .map((element) => rangeOf(element, bytes));
  for (const set of sets) {
    const found = scanBytes(bytes, sampleRanges, withoutManufacturerNames(tree.elements, set));
    if (found === undefined) continue;
    leaks.push({ path: `byte offset ${found.offset}`, kind: found.kind });
    break;
  }
  return leaks;
}

function scanElements(
  elements: DicomElement[],
  parent: string,
  sets: readonly Identifiers[],
  vrOf: (tag: number) => string | undefined,
  leaks: Leak[],
): void {
  for (const original of elements) {
    const element = interpretUn(original, vrOf);
    const path = `${parent}${formatTag(element.tag)}`;
    element.items?.forEach((item, index) => {
      scanElements(item.elements, `${path}[${index}]>`, sets, vrOf, leaks);
    });
    if (!element.value || SAMPLE_TAGS.has(element.tag)) continue;

    const vr = element.vr ?? vrOf(element.tag);
    for (const set of sets) {
      const kind = findIdentifier(element.tag, element.value, vr, set);
      if (kind === undefined) continue;
      leaks.push({ path, kind });
      break;
    }
  }
}

interface ByteRange {
  start: number;
  end: number;
}

/** Drops institution names that the Manufacturer attributes contain, as findIdentifier does. */
function withoutManufacturerNames(elements: DicomElement[], identifiers: Identifiers): Identifiers {
  const manufacturers = elements
    .filter((element) => MANUFACTURER_TAGS.has(element.tag) && element.value)
    .map((element) => Buffer.from(element.value!).toString('latin1').toUpperCase());
  if (manufacturers.length === 0) return identifiers;

  const values = new Map(identifiers.values);
  for (const [value, kind] of identifiers.values) {
    const shared = manufacturers.some((text) => text.includes(value));
    if (shared && kind.startsWith('Institution')) values.delete(value);
  }
  return { ...identifiers, values };
}

function rangeOf(element: DicomElement, bytes: Buffer): ByteRange {
  const parts = element.fragments ?? (element.value ? [element.value] : []);
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (!first || !last) return { start: 0, end: 0 };
  const base = bytes.byteOffset;
  return { start: first.byteOffset - base, end: last.byteOffset - base + last.length };
}

/** Searches the raw bytes outside the sample ranges for long whole values, UIDs and dates. */
function scanBytes(
  bytes: Buffer,
  excluded: ByteRange[],
  identifiers: Identifiers,
): { offset: number; kind: string } | undefined {
  const ranges = [...excluded].sort((a, b) => a.start - b.start);
  let start = 0;
  for (const range of [...ranges, { start: bytes.length, end: bytes.length }]) {
    const end = Math.max(start, range.start);
    const text = bytes.subarray(start, end).toString('latin1').toUpperCase();
    for (const [value, kind] of identifiers.values) {
      const at = value.length >= MIN_BINARY_LENGTH ? indexOfValue(text, value) : -1;
      if (at >= 0) return { offset: start + at, kind };
    }
    const uidAt = findUid(text, identifiers.uids);
    if (uidAt >= 0) return { offset: start + uidAt, kind: 'UID' };
    const dateAt = findDate(text, identifiers.dates);
    if (dateAt >= 0) return { offset: start + dateAt, kind: 'date' };
    start = Math.max(start, range.end);
  }
  return undefined;
}
