import {
  ITEM,
  parseElementTree,
  UNDEFINED_LENGTH,
  type DicomElement,
  type DicomItem,
  type VrLookup,
} from '../dicom/element-tree';
import { TransferSyntax } from '../dicom/tags';

/** VRs whose bytes mean the same in either byte order, so a UN value can take them over. */
const TEXT_VRS = new Set([
  'AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR',
  'UT',
]);

/**
 * Interprets a UN element (PS3.5 6.2.2) so the profile can act on it: a value that is a sequence
 * in implicit VR little endian becomes an SQ element with parsed items, and a value whose tag the
 * dictionary gives a text VR takes that VR. Returns the element unchanged when neither applies or
 * when the value does not parse as a sequence.
 * NOTE: only the tags of the profile tables are in the dictionary, so other UN values stay opaque.
 */
export function interpretUn(element: DicomElement, vrOf: VrLookup): DicomElement {
  if (element.vr !== 'UN' || element.value === undefined) return element;

  const dictionaryVr = vrOf(element.tag);
  if (element.undefinedLength || dictionaryVr === 'SQ' || startsWithItem(element.value)) {
    const items = parseUnSequence(element, vrOf);
    if (items !== undefined) return { tag: element.tag, vr: 'SQ', items, undefinedLength: false };
    return element;
  }
  if (dictionaryVr !== undefined && TEXT_VRS.has(dictionaryVr)) {
    return { ...element, vr: dictionaryVr };
  }
  return element;
}

function startsWithItem(value: Uint8Array): boolean {
  if (value.length < 8) return false;
  const tag = ((value[1]! << 24) | (value[0]! << 16) | (value[3]! << 8) | value[2]!) >>> 0;
  return tag === ITEM;
}

/** Parses the value as the items of an implicit VR little endian sequence, or undefined. */
function parseUnSequence(element: DicomElement, vrOf: VrLookup): DicomItem[] | undefined {
  const value = element.value!;
  // A synthetic implicit VR data set holding one element with this value.
  const bytes = new Uint8Array(8 + value.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0x0009, true);
  view.setUint16(2, 0x1000, true);
  view.setUint32(4, element.undefinedLength ? UNDEFINED_LENGTH : value.length, true);
  bytes.set(value, 8);

  try {
    const tree = parseElementTree(
      {
        byteArray: bytes,
        metaEnd: 0,
        transferSyntaxUID: TransferSyntax.ImplicitVRLittleEndian,
        deflated: false,
        explicitVR: false,
        littleEndian: true,
      },
      (tag) => (tag === 0x00091000 ? undefined : vrOf(tag)),
    );
    const [parsed] = tree.elements;
    if (!parsed?.items || tree.elements.length !== 1) return undefined;
    return parsed.items.map(withExplicitVrs);
  } catch {
    // Not a sequence after all: the caller keeps the value as opaque UN.
    return undefined;
  }
}

/** Gives every element of an implicit VR item a VR so it can be written in explicit VR. */
function withExplicitVrs(item: DicomItem): DicomItem {
  const elements = item.elements.map((element): DicomElement => {
    if (element.items) return { ...element, vr: 'SQ', items: element.items.map(withExplicitVrs) };
    return { ...element, vr: element.vr ?? 'UN' };
  });
  return { ...item, elements };
}
