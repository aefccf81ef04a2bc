import type { DicomElement } from '../dicom/element-tree';
import { shiftDate, shiftDateTime, shiftEachValue } from './dates';
import { findIdentifier, type Identifiers } from './identifiers';
import {
  isPrivateCreator,
  isPrivateTag,
  privateBlock,
  privateCreatorsOf,
  safePrivateEntry,
} from './private';
import {
  BASIC_PROFILE,
  KEPT_UID_TAGS,
  UNLISTED_INSTANCE_UID_TAGS,
  type ProfileAction,
} from './profile';
import type { DeidProfile } from './profile-config';
import {
  CLEAN_DESCRIPTORS,
  RETAIN_DEVICE_IDENTITY,
  RETAIN_LONGITUDINAL_MODIFIED_DATES,
  RETAIN_PATIENT_CHARACTERISTICS,
} from './profile-options';
import { interpretUn } from './un';
import { isStandardUid, mapUid } from './uids';

/** The settings and the counters of one de-identification run. */
export interface CleaningContext {
  uidSecret: Buffer;
  patientPseudonym: string;
  dateOffsetDays: number;
  profile: DeidProfile;
  /** Identifiers of the image, which the C (clean) action looks for. */
  identifiers: Identifiers;
  /** False for big endian data sets, whose UN values cannot be re-encoded as they are. */
  interpretUn: boolean;
  counts: { removed: number; replaced: number };
}

/** The profile's actions after the options, plus S: shift a date or date time by the offset. */
type ResolvedAction = 'D' | 'Z' | 'X' | 'K' | 'U' | 'C' | 'S';

export const PatientName = 0x00100010;
export const PatientID = 0x00100020;
const PatientBirthDate = 0x00100030;
/** TextValue (0040,A160): free text of structured content, which the D of ContentSequence covers. */
const TextValue = 0x0040a160;

/** Dummy values for action D, valid for the VR's character repertoire and maximum length. */
const DUMMY_TEXT: Readonly<Record<string, string>> = {
  AE: 'ANONYMIZED', AS: '000Y', CS: 'ANONYMIZED', DA: '19000101', DS: '0',
  DT: '19000101000000', IS: '0', LO: 'ANONYMIZED', LT: 'ANONYMIZED', PN: 'ANONYMIZED',
  SH: 'ANONYMIZED', ST: 'ANONYMIZED', TM: '000000', UC: 'ANONYMIZED',
  UR: 'urn:uuid:00000000-0000-0000-0000-000000000000', UT: 'ANONYMIZED',
};

/** Every text this module writes in place of an original value. */
export const DUMMY_VALUES: readonly string[] = Object.values(DUMMY_TEXT);

/**
 * Returns the dictionary VR of a tag as far as the profile needs it, for implicit VR files: the
 * table's VR, UI for the UID lists, and OW for PixelData so it is never mistaken for a sequence.
 */
export function profileVr(tag: number): string | undefined {
  if (tag === 0x7fe00010) return 'OW';
  if (UNLISTED_INSTANCE_UID_TAGS.has(tag) || KEPT_UID_TAGS.has(tag)) return 'UI';
  return BASIC_PROFILE.get(tag)?.vr;
}

/**
 * Resolves the table's combined actions for a writer that cannot tell an attribute's Type: Z
 * where X might remove a Type 2 attribute, D where Z might empty a Type 1 attribute, U for the
 * image references of X/Z/U*.
 */
export function resolveAction(action: ProfileAction | undefined): 'D' | 'Z' | 'X' | 'K' | 'U' {
  switch (action) {
    case undefined:
      return 'K';
    case 'X/Z':
      return 'Z';
    case 'Z/D':
    case 'X/D':
    case 'X/Z/D':
      return 'D';
    case 'X/Z/U*':
      return 'U';
    default:
      return action;
  }
}

/**
 * Returns the action for one attribute after the options of the profile. With modified dates on,
 * every DA and DT value is shifted, listed or not, and the times the option covers are kept
 * because a whole-day offset leaves them unchanged.
 */
export function actionFor(
  tag: number,
  vr: string | undefined,
  profile: DeidProfile,
): ResolvedAction {
  const { options } = profile;
  const datesOn = options.retainLongitudinalTemporalInformationModifiedDates;
  if (tag === PatientBirthDate) return datesOn && profile.shiftPatientBirthDate ? 'S' : 'Z';
  if (datesOn && (vr === 'DA' || vr === 'DT')) return 'S';
  if (datesOn && RETAIN_LONGITUDINAL_MODIFIED_DATES.has(tag) && (vr === 'TM' || vr === 'SH')) {
    return 'K';
  }

  const patient = options.retainPatientCharacteristics && RETAIN_PATIENT_CHARACTERISTICS.get(tag);
  if (patient) return patient;
  const device = options.retainDeviceIdentity && RETAIN_DEVICE_IDENTITY.get(tag);
  if (device) return device;
  if (options.cleanDescriptors && CLEAN_DESCRIPTORS.has(tag)) return 'C';
  if (tag === TextValue) return 'D';
  if (isOverlayGroup(tag)) return 'X';
  return resolveAction(BASIC_PROFILE.get(tag)?.action);
}

/**
 * The table removes Overlay Data (60xx,3000) and Overlay Comments (60xx,4000). The rest of the
 * overlay group goes with them, because an Overlay Plane without its data is invalid.
 * NOTE: overlay bits stored in unused bits of the pixel data stay, since pixel data is not changed.
 */
function isOverlayGroup(tag: number): boolean {
  const group = tag >>> 16;
  return group >= 0x6000 && group <= 0x601e && group % 2 === 0;
}

/**
 * Applies the profile to every element of one data set, sequence items included. Private data
 * elements are removed unless Retain Safe Private is on and they are on the safe list; a Private
 * Creator is kept only while an element of its block is.
 */
export function cleanElements(elements: DicomElement[], context: CleaningContext): DicomElement[] {
  const safeList = context.profile.options.retainSafePrivate ? context.profile.safePrivate : [];
  const creators = safeList.length > 0 ? privateCreatorsOf(elements) : new Map<number, string>();
  const keptBlocks = new Set<number>();
  const kept: DicomElement[] = [];

  for (const element of elements) {
    let cleaned: DicomElement | undefined;
    if (isPrivateCreator(element.tag)) continue;
    if (isPrivateTag(element.tag)) {
      cleaned = safePrivateEntry(element.tag, creators, safeList)
        ? cleanSafePrivate(element, context)
        : undefined;
      if (cleaned) keptBlocks.add(privateBlock(element.tag));
    } else {
      cleaned = cleanElement(element, context);
    }
    if (cleaned === undefined) context.counts.removed += 1;
    else kept.push(cleaned);
  }

  for (const element of elements) {
    if (!isPrivateCreator(element.tag)) continue;
    if (keptBlocks.has(privateBlock(element.tag))) kept.push(element);
    else context.counts.removed += 1;
  }
  return kept;
}

/** A safe private attribute keeps its value; a sequence among them is cleaned inside. */
function cleanSafePrivate(element: DicomElement, context: CleaningContext): DicomElement {
  const interpreted = context.interpretUn ? interpretUn(element, profileVr) : element;
  if (!interpreted.items) return element;
  return cleanSequence(interpreted, 'K', context);
}

function cleanElement(original: DicomElement, context: CleaningContext): DicomElement | undefined {
  // Group lengths are dropped because the changes would falsify them.
  if ((original.tag & 0xffff) === 0) return undefined;
  // Curve data (50xx,xxxx) is removed as a whole by the table.
  const group = original.tag >>> 16;
  if (group >= 0x5000 && group <= 0x50ff) return undefined;

  const element = context.interpretUn ? interpretUn(original, profileVr) : original;
  if (element.tag === PatientName || element.tag === PatientID) {
    return replaceText(element, context.patientPseudonym, context);
  }

  const vr = element.vr ?? profileVr(element.tag);
  const action = actionFor(element.tag, vr, context.profile);
  if (action === 'X') return undefined;
  // A UN value that did not parse as a sequence or take a dictionary VR stays opaque: it is kept
  // only where the profile keeps the attribute, and never when it has undefined length.
  if (vr === 'UN' && (action !== 'K' || element.undefinedLength)) return undefined;

  if (element.items) return cleanSequence(element, action, context);
  if (action === 'S') return shiftDateElement(element, vr, context);
  if (vr === 'UI') return cleanUid(element, action, context);

  switch (action) {
    case 'Z':
      return replaceValue(element, new Uint8Array(0), context);
    case 'D':
    case 'U':
      return replaceWithDummy(element, vr, context);
    case 'C':
      return cleanDescriptor(element, vr, context);
    default:
      return element;
  }
}

function cleanSequence(
  element: DicomElement,
  action: ResolvedAction,
  context: CleaningContext,
): DicomElement {
  if (action === 'Z') {
    context.counts.replaced += 1;
    return { ...element, items: [] };
  }
  const items = (element.items ?? []).map((item) => ({
    ...item,
    elements: cleanElements(item.elements, context),
  }));
  return { ...element, items };
}

/**
 * Shifts DA values and the date part of DT values by the offset, which keeps intervals (the
 * Retain Longitudinal Temporal Information Modified Dates Option). A value that is not a valid
 * date is cleared.
 */
function shiftDateElement(
  element: DicomElement,
  vr: string | undefined,
  context: CleaningContext,
): DicomElement {
  const text = readText(element);
  if (text === '') return element;

  const shift = vr === 'DT' ? shiftDateTime : shiftDate;
  const shifted = shiftEachValue(text, context.dateOffsetDays, shift);
  return replaceText(element, shifted ?? '', context);
}

/** Maps every UID value except SOP class, transfer syntax and other standard UIDs. */
function cleanUid(
  element: DicomElement,
  action: ResolvedAction,
  context: CleaningContext,
): DicomElement {
  if (action === 'Z') return replaceValue(element, new Uint8Array(0), context);
  if (KEPT_UID_TAGS.has(element.tag)) return element;

  const text = readText(element);
  const values = text.split('\\');
  const mapped = values.map((uid) =>
    uid === '' || isStandardUid(uid) ? uid : mapUid(uid, context.uidSecret),
  );
  if (mapped.every((uid, index) => uid === values[index])) return element;
  return replaceText(element, mapped.join('\\'), context);
}

/**
 * Action C for descriptors and retained characteristics: the value is kept, bytes unchanged,
 * unless it contains one of the image's identifiers, in which case it gets the dummy value.
 */
function cleanDescriptor(element: DicomElement, vr: string | undefined, context: CleaningContext) {
  if (!element.value) return element;
  const found = findIdentifier(element.tag, element.value, vr, context.identifiers);
  if (found === undefined) return element;
  return replaceWithDummy(element, vr, context);
}

function replaceWithDummy(element: DicomElement, vr: string | undefined, context: CleaningContext) {
  const length = element.value?.length ?? 0;
  if (length === 0) return element;

  const dummy = vr === undefined ? undefined : DUMMY_TEXT[vr];
  if (dummy !== undefined) return replaceText(element, dummy, context);
  // Binary VRs keep their length so value multiplicity and alignment stay valid.
  return replaceValue(element, new Uint8Array(length), context);
}

function replaceText(element: DicomElement, text: string, context: CleaningContext): DicomElement {
  return replaceValue(element, Buffer.from(text, 'latin1'), context);
}

function replaceValue(element: DicomElement, value: Uint8Array, context: CleaningContext) {
  context.counts.replaced += 1;
  return { tag: element.tag, vr: element.vr, value, undefinedLength: false };
}

/** Reads an ASCII value without its trailing NUL or space padding. */
export function readText(element: DicomElement): string {
  if (!element.value) return '';
  const { buffer, byteOffset, length } = element.value;
  return Buffer.from(buffer, byteOffset, length).toString('latin1').replace(/[\0 ]+$/, '');
}
