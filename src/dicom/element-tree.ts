import { LongLengthVRs, TransferSyntax } from './tags';

/** One data element with its value bytes as read, in the byte order of its transfer syntax. */
export interface DicomElement {
  /** (group << 16) | element, unsigned. */
  tag: number;
  /** The VR written in the file, or for implicit VR the dictionary VR when one was supplied. */
  vr: string | undefined;
  /** Value bytes of any element that is neither a parsed sequence nor encapsulated pixel data. */
  value?: Uint8Array;
  items?: DicomItem[];
  /** Items of encapsulated pixel data, the basic offset table first, each without its header. */
  fragments?: Uint8Array[];
  /** For an opaque UN value of undefined length, `value` includes its sequence delimiter. */
  undefinedLength: boolean;
}

export interface DicomItem {
  elements: DicomElement[];
  undefinedLength: boolean;
}

export interface DataSetEncoding {
  explicitVR: boolean;
  littleEndian: boolean;
}

/** The main data set of one file, without its file meta group. */
export interface ElementTree extends DataSetEncoding {
  /** The transfer syntax to write: a deflated input is written as explicit VR little endian. */
  transferSyntaxUID: string;
  elements: DicomElement[];
}

/** The fields of the reader's result (`DicomRead` of ./read) that the tree uses. */
export interface ElementSource extends DataSetEncoding {
  byteArray: Uint8Array;
  metaEnd: number;
  transferSyntaxUID: string;
  deflated: boolean;
}

/** Returns the dictionary VR of a tag, or undefined when it is not known. */
export type VrLookup = (tag: number) => string | undefined;

export const ITEM = 0xfffee000;
export const ITEM_DELIMITATION = 0xfffee00d;
export const SEQUENCE_DELIMITATION = 0xfffee0dd;
export const UNDEFINED_LENGTH = 0xffffffff;
export const PIXEL_DATA = 0x7fe00010;

/** Maximum nesting depth of sequences. Deeper input is rejected, which bounds the recursion. */
const MAX_DEPTH = 32;

/**
 * Parses the main data set of a file read by `readDicom` into an element tree that keeps every
 * value's bytes as views of `source.byteArray`. Throws an Error naming the element and offset
 * when the structure is invalid, for example a length that runs past its container.
 */
export function parseElementTree(
  source: ElementSource,
  vrOf: VrLookup = () => undefined,
): ElementTree {
  const encoding = { explicitVR: source.explicitVR, littleEndian: source.littleEndian };
  const parser = new TreeParser(source.byteArray, encoding, vrOf);
  const { elements } = parser.readDataSet(source.metaEnd, source.byteArray.length, 0, false);
  const transferSyntaxUID = source.deflated
    ? TransferSyntax.ExplicitVRLittleEndian
    : source.transferSyntaxUID;

  return { ...encoding, transferSyntaxUID, elements: elements.filter((e) => e.tag >>> 16 !== 2) };
}

/** Formats a tag as (GGGG,EEEE) for messages. */
export function formatTag(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

interface Parsed<T> {
  value: T;
  next: number;
}

class TreeParser {
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly encoding: DataSetEncoding,
    private readonly vrOf: VrLookup,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  readDataSet(start: number, end: number, depth: number, delimited: boolean) {
    const elements: DicomElement[] = [];
    let position = start;
    while (position < end) {
      if (position + 8 > end) throw this.invalid('element header runs past the end', position);

      const tag = this.tagAt(position);
      if (tag === ITEM_DELIMITATION && delimited) return { elements, end: position + 8 };
      if (tag >>> 16 === 0xfffe) throw this.invalid(`unexpected ${formatTag(tag)}`, position);

      const parsed = this.readElement(tag, position, end, depth);
      elements.push(parsed.value);
      position = parsed.next;
    }
    if (delimited) throw this.invalid('item of undefined length has no item delimiter', position);
    return { elements, end: position };
  }

  private readElement(
    tag: number,
    position: number,
    end: number,
    depth: number,
  ): Parsed<DicomElement> {
    const { vr, length, headerLength } = this.readHeader(tag, position, end);
    const start = position + headerLength;
    if (length === UNDEFINED_LENGTH) return this.readUndefinedLength(tag, vr, start, end, depth);

    const valueEnd = start + length;
    if (valueEnd > end) {
      throw this.invalid(`length ${length} of ${formatTag(tag)} runs past its end`, start);
    }

    const element: DicomElement = { tag, vr, undefinedLength: false };
    const sequence = this.sequenceKind(tag, vr, start, length);
    if (sequence !== 'no') {
      try {
        element.items = this.readItems(start, valueEnd, false, depth).value;
        return { value: element, next: valueEnd };
      } catch (error) {
        if (sequence === 'yes') throw error;
      }
    }
    element.value = this.bytes.subarray(start, valueEnd);
    return { value: element, next: valueEnd };
  }

  private readHeader(tag: number, position: number, end: number) {
    if (!this.encoding.explicitVR) {
      return { vr: this.vrOf(tag), length: this.uint32(position + 4), headerLength: 8 };
    }
    const vr = String.fromCharCode(this.bytes[position + 4] ?? 0, this.bytes[position + 5] ?? 0);
    if (!LongLengthVRs.has(vr)) return { vr, length: this.uint16(position + 6), headerLength: 8 };

    if (position + 12 > end) {
      throw this.invalid(`header of ${formatTag(tag)} runs past the end`, position);
    }
    return { vr, length: this.uint32(position + 8), headerLength: 12 };
  }

  /** 'maybe' is an implicit VR value of unknown VR that starts like a sequence. */
  private sequenceKind(tag: number, vr: string | undefined, start: number, length: number) {
    if (vr === 'SQ') return 'yes';
    if (vr !== undefined || tag === PIXEL_DATA || length < 8) return 'no';
    const first = this.tagAt(start);
    return first === ITEM || first === SEQUENCE_DELIMITATION ? 'maybe' : 'no';
  }

  private readUndefinedLength(
    tag: number,
    vr: string | undefined,
    start: number,
    end: number,
    depth: number,
  ): Parsed<DicomElement> {
    if (tag === PIXEL_DATA && this.encoding.explicitVR) {
      const fragments = this.readFragments(start, end);
      const element = { tag, vr, fragments: fragments.value, undefinedLength: true };
      return { value: element, next: fragments.next };
    }
    if (vr === 'UN') {
      // An undefined-length UN value is a sequence encoded as implicit VR little endian.
      const implicitLittleEndian = { explicitVR: false, littleEndian: true };
      const inner = new TreeParser(this.bytes, implicitLittleEndian, this.vrOf);
      const { next } = inner.readItems(start, end, true, depth);
      const value = this.bytes.subarray(start, next);
      return { value: { tag, vr, value, undefinedLength: true }, next };
    }
    // In implicit VR only a sequence can have undefined length, whatever VR the dictionary gives.
    if (this.encoding.explicitVR && vr !== 'SQ') {
      throw this.invalid(`${formatTag(tag)} with VR ${vr} has undefined length`, start);
    }
    const items = this.readItems(start, end, true, depth);
    return { value: { tag, vr, items: items.value, undefinedLength: true }, next: items.next };
  }

  readItems(start: number, end: number, delimited: boolean, depth: number): Parsed<DicomItem[]> {
    if (depth >= MAX_DEPTH) throw this.invalid(`sequences nested deeper than ${MAX_DEPTH}`, start);

    const items: DicomItem[] = [];
    let position = start;
    while (delimited || position < end) {
      if (position + 8 > end) throw this.invalid('sequence runs past its end', position);

      const tag = this.tagAt(position);
      const length = this.uint32(position + 4);
      if (tag === SEQUENCE_DELIMITATION && delimited) return { value: items, next: position + 8 };
      if (tag !== ITEM) {
        throw this.invalid(`expected an item tag, found ${formatTag(tag)}`, position);
      }

      if (length === UNDEFINED_LENGTH) {
        const item = this.readDataSet(position + 8, end, depth + 1, true);
        items.push({ elements: item.elements, undefinedLength: true });
        position = item.end;
        continue;
      }
      const itemEnd = position + 8 + length;
      if (itemEnd > end) {
        throw this.invalid(`item length ${length} runs past its sequence`, position);
      }
      const item = this.readDataSet(position + 8, itemEnd, depth + 1, false);
      items.push({ elements: item.elements, undefinedLength: false });
      position = itemEnd;
    }
    return { value: items, next: position };
  }

  private readFragments(start: number, end: number): Parsed<Uint8Array[]> {
    const fragments: Uint8Array[] = [];
    let position = start;
    while (position + 8 <= end) {
      const tag = this.tagAt(position);
      const length = this.uint32(position + 4);
      if (tag === SEQUENCE_DELIMITATION) return { value: fragments, next: position + 8 };
      if (tag !== ITEM) {
        throw this.invalid(`expected a pixel data item, found ${formatTag(tag)}`, position);
      }
      if (position + 8 + length > end) {
        throw this.invalid('pixel data item runs past the end', position);
      }

      fragments.push(this.bytes.subarray(position + 8, position + 8 + length));
      position += 8 + length;
    }
    throw this.invalid('encapsulated pixel data has no sequence delimiter', position);
  }

  private tagAt(position: number): number {
    return ((this.uint16(position) << 16) | this.uint16(position + 2)) >>> 0;
  }

  private uint16(position: number): number {
    return this.view.getUint16(position, this.encoding.littleEndian);
  }

  private uint32(position: number): number {
    return this.view.getUint32(position, this.encoding.littleEndian);
  }

  private invalid(reason: string, offset: number): Error {
    return new Error(`invalid data set: ${reason} at offset ${offset}`);
  }
}
