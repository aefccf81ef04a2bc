import { parseElementTree, type DicomElement, type ElementTree } from '../dicom/element-tree';
import { readDicom } from '../dicom/read';
import { writePart10 } from '../dicom/write';
import {
  DUMMY_VALUES,
  PatientID,
  PatientName,
  actionFor,
  cleanElements,
  profileVr,
  readText,
} from './actions';
import { collectIdentifiers, type Identifiers } from './identifiers';
import { deidentificationElements, textElement } from './method';
import type { DeidProfile } from './profile-config';

export { PROFILE_EDITION } from './method';

export interface DeidentifyOptions {
  uidSecret: Buffer;
  /** Becomes PatientName and PatientID. Printable ASCII, at most 64 characters. */
  patientPseudonym: string;
  /** Added to every DA value and to the date part of every DT value, which keeps intervals. */
  dateOffsetDays: number;
  /** The rules: options, safe private list, version recorded in DeidentificationMethod. */
  profile: DeidProfile;
  /**
   * Returns memory of at least `length` bytes for the new file, such as a buffer reused from image
   * to image, and `bytes` of the result is its start. A new Buffer by default.
   */
  allocateOutput?: (length: number) => Buffer;
}

/** One input file, parsed once, with the header values the caller needs before de-identifying. */
export interface SourceImage {
  tree: ElementTree;
  SOPClassUID: string;
  SOPInstanceUID: string;
  PatientID: string;
  IssuerOfPatientID: string;
  Modality: string;
  /** As written, '' when absent. */
  BurnedInAnnotation: string;
}

export interface DeidentifyResult {
  /** A complete Part 10 file: preamble, DICM, file meta group, data set. */
  bytes: Buffer;
  SOPInstanceUID: string;
  /** Empty when the input has no StudyInstanceUID. */
  StudyInstanceUID: string;
  /** Empty when the input has no SeriesInstanceUID. */
  SeriesInstanceUID: string;
  /** Original identifiers of the input, at every depth, for the scan of the output. */
  identifiers: Identifiers;
  /** Attributes removed, at every depth, private ones included. */
  removed: number;
  /** Attributes whose value was replaced, emptied, mapped or shifted, at every depth. */
  replaced: number;
}

const SOPClassUID = 0x00080016;
const SOPInstanceUID = 0x00080018;
const Modality = 0x00080060;
const IssuerOfPatientID = 0x00100021;
const StudyInstanceUID = 0x0020000d;
const SeriesInstanceUID = 0x0020000e;
const BurnedInAnnotation = 0x00280301;
const MediaStorageSOPClassUID = 'x00020002';

/** 1 to 64 printable ASCII characters, no backslash, no leading or trailing space (LO). */
const PSEUDONYM_PATTERN = /^[\x21-\x5b\x5d-\x7e]([\x20-\x5b\x5d-\x7e]{0,62}[\x21-\x5b\x5d-\x7e])?$/;

/**
 * Reads and parses one input file. Throws an Error saying why when it is not a readable data set
 * or lacks SOPClassUID or SOPInstanceUID.
 */
export function readSourceImage(input: Buffer): SourceImage {
  const read = readDicom(input);
  const tree = parseElementTree(read, profileVr);
  const classUid =
    textOf(tree.elements, SOPClassUID) || read.dataSet.string(MediaStorageSOPClassUID);
  if (!classUid) throw new Error('cannot de-identify: the data set has no SOPClassUID');
  const instanceUid = textOf(tree.elements, SOPInstanceUID);
  if (!instanceUid) throw new Error('cannot de-identify: the data set has no SOPInstanceUID');

  return {
    tree,
    SOPClassUID: classUid.replace(/[\0 ]+$/, ''),
    SOPInstanceUID: instanceUid,
    PatientID: textOf(tree.elements, PatientID),
    IssuerOfPatientID: textOf(tree.elements, IssuerOfPatientID),
    Modality: textOf(tree.elements, Modality),
    BurnedInAnnotation: textOf(tree.elements, BurnedInAnnotation),
  };
}

/**
 * De-identifies one file with the Basic Application Level Confidentiality Profile and the options
 * of `options.profile`, and returns the new file. The pixel data is copied unchanged. Throws an
 * Error saying why when the input cannot be read or written, or the options are invalid.
 */
export function deidentify(
  input: Buffer | SourceImage,
  options: DeidentifyOptions,
): DeidentifyResult {
  checkOptions(options);
  const source = Buffer.isBuffer(input) ? readSourceImage(input) : input;
  const { tree } = source;
  const { profile } = options;
  const identifiers = collectIdentifiers(
    tree.elements,
    profileVr,
    (tag, vr) => actionFor(tag, vr, profile) !== 'K',
  );
  dropOwnValues(identifiers, options.patientPseudonym);

  const counts = { removed: 0, replaced: 0 };
  const context = { ...options, identifiers, counts, interpretUn: tree.littleEndian };
  const elements = cleanElements(tree.elements, context);
  addPatientElements(elements, options.patientPseudonym, counts);
  replaceElements(elements, deidentificationElements(profile.options, profile.version));

  const newSOPInstanceUID = textOf(elements, SOPInstanceUID);
  const bytes = writePart10(
    { ...tree, elements },
    { MediaStorageSOPClassUID: source.SOPClassUID, MediaStorageSOPInstanceUID: newSOPInstanceUID },
    options.allocateOutput,
  );

  return {
    bytes,
    SOPInstanceUID: newSOPInstanceUID,
    StudyInstanceUID: textOf(elements, StudyInstanceUID),
    SeriesInstanceUID: textOf(elements, SeriesInstanceUID),
    identifiers,
    ...counts,
  };
}

/** Removes original values found in text this product writes itself, which proves no leak. */
export function dropOwnValues(identifiers: Identifiers, pseudonym: string): void {
  const own = [...DUMMY_VALUES, pseudonym, 'DCM', 'YES', 'MODIFIED', 'REMOVED'].map((text) =>
    text.toUpperCase(),
  );
  for (const map of [identifiers.values, identifiers.nameParts]) {
    for (const value of [...map.keys()]) {
      if (own.some((text) => text.includes(value))) map.delete(value);
    }
  }
}

function checkOptions(options: DeidentifyOptions): void {
  if (!PSEUDONYM_PATTERN.test(options.patientPseudonym)) {
    throw new Error(
      `invalid patientPseudonym "${options.patientPseudonym}": expected 1 to 64 printable ASCII ` +
        'characters without a backslash or leading and trailing spaces',
    );
  }
  if (!Number.isSafeInteger(options.dateOffsetDays)) {
    throw new Error(`invalid dateOffsetDays ${options.dateOffsetDays}: expected an integer`);
  }
  if (options.uidSecret.length === 0) throw new Error('invalid uidSecret: it is empty');
}

/** Adds PatientName and PatientID with the pseudonym where the input lacks them. */
function addPatientElements(
  elements: DicomElement[],
  pseudonym: string,
  counts: { replaced: number },
): void {
  for (const [tag, vr] of [[PatientName, 'PN'], [PatientID, 'LO']] as const) {
    if (elements.some((element) => element.tag === tag)) continue;
    elements.push(textElement(tag, vr, pseudonym));
    counts.replaced += 1;
  }
}

function replaceElements(elements: DicomElement[], replacements: DicomElement[]): void {
  for (const replacement of replacements) {
    const index = elements.findIndex((element) => element.tag === replacement.tag);
    if (index >= 0) elements.splice(index, 1, replacement);
    else elements.push(replacement);
  }
}

function textOf(elements: DicomElement[], tag: number): string {
  const element = elements.find((candidate) => candidate.tag === tag);
  return element ? readText(element).trim() : '';
}
