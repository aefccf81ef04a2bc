import {
  ITEM,
  ITEM_DELIMITATION,
  SEQUENCE_DELIMITATION,
  UNDEFINED_LENGTH,
  formatTag,
  type DataSetEncoding,
  type DicomElement,
  type ElementTree,
} from './element-tree';
import { LongLengthVRs } from './tags';

/** ImplementationClassUID (0002,0012) written into every file this product creates. */
export const IMPLEMENTATION_CLASS_UID = '2.25.279312632641617910309953627157686011784';
export const IMPLEMENTATION_VERSION_NAME = 'DICOM_IMPORT_01';

/** VRs padded with a space to even length (PS3.5 6.2). Every other VR is padded with NUL. */
const SPACE_PADDED_VRS = new Set([
  'AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UR', 'UT',
]);

const EXPLICIT_LITTLE_ENDIAN: DataSetEncoding = { explicitVR: true, littleEndian: true };

export interface FileMetaValues {
  MediaStorageSOPClassUID: string;
  MediaStorageSOPInstanceUID: string;
}

/**
 * Writes a complete Part 10 file: a zero preamble, `DICM`, a new file meta group in explicit VR
 * little endian, then the data set in the tree's transfer syntax with every length recomputed.
 * The file is copied once, into the buffer that `allocate` returns for its length, and that part
 * of the buffer is returned. `allocate` may return a longer buffer; by default it is a new one.
 * Throws when a value cannot be encoded, for example a value too long for its VR's length field.
 */
export function writePart10(
  tree: ElementTree,
  meta: FileMetaValues,
  allocate: (length: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  const out = new ByteChunks();
  const preamble = Buffer.alloc(132);
  preamble.write('DICM', 128, 'latin1');
  out.push(preamble);
  out.push(encodeFileMeta({ ...meta, TransferSyntaxUID: tree.transferSyntaxUID }));
  new DataSetEncoder(tree).writeElements(tree.elements, out);
  return out.copyInto(allocate(out.length));
}

/** Encodes the elements of one data set, sorted by tag, in the given encoding. */
export function encodeDataSet(elements: DicomElement[], encoding: DataSetEncoding): Buffer {
  const encoder = new DataSetEncoder(encoding);
  const out = new ByteChunks();
  encoder.writeElements(elements, out);
  return out.toBuffer();
}

function encodeFileMeta(values: FileMetaValues & { TransferSyntaxUID: string }): Buffer {
  const uid = (tag: number, text: string): DicomElement => {
    if (!/^[0-9.]{1,64}$/.test(text)) {
      throw new Error(`cannot write file meta ${formatTag(tag)}: invalid UID "${text}"`);
    }
    return { tag, vr: 'UI', value: Buffer.from(text, 'latin1'), undefinedLength: false };
  };
  const group = encodeDataSet(
    [
      { tag: 0x00020001, vr: 'OB', value: Uint8Array.of(0, 1), undefinedLength: false },
      uid(0x00020002, values.MediaStorageSOPClassUID),
      uid(0x00020003, values.MediaStorageSOPInstanceUID),
      uid(0x00020010, values.TransferSyntaxUID),
      uid(0x00020012, IMPLEMENTATION_CLASS_UID),
      {
        tag: 0x00020013,
        vr: 'SH',
        value: Buffer.from(IMPLEMENTATION_VERSION_NAME, 'latin1'),
        undefinedLength: false,
      },
    ],
    EXPLICIT_LITTLE_ENDIAN,
  );
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(group.length);
  const lengthElement: DicomElement = {
    tag: 0x00020000,
    vr: 'UL',
    value: groupLength,
    undefinedLength: false,
  };

  return Buffer.concat([encodeDataSet([lengthElement], EXPLICIT_LITTLE_ENDIAN), group]);
}

class ByteChunks {
  readonly parts: Uint8Array[] = [];
  length = 0;

  push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  append(other: ByteChunks): void {
    for (const part of other.parts) this.parts.push(part);
    this.length += other.length;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }

  /** Copies the bytes to the start of `target` and returns that part of it. */
  copyInto(target: Buffer): Buffer {
    if (target.length < this.length) {
      throw new Error(`output buffer of ${target.length} bytes is too small for ${this.length}`);
    }
    let offset = 0;
    for (const part of this.parts) {
      target.set(part, offset);
      offset += part.length;
    }
    return target.subarray(0, this.length);
  }
}

class DataSetEncoder {
  constructor(private readonly encoding: DataSetEncoding) {}

  writeElements(elements: DicomElement[], out: ByteChunks): void {
    const sorted = [...elements].sort((a, b) => a.tag - b.tag);
    for (const element of sorted) this.writeElement(element, out);
  }

  private writeElement(element: DicomElement, out: ByteChunks): void {
    if (element.fragments) {
      out.push(this.header(element.tag, element.vr ?? 'OB', UNDEFINED_LENGTH));
      for (const fragment of element.fragments) {
        const padded = padValue(fragment, 0);
        out.push(this.itemHeader(ITEM, padded.length));
        out.push(padded);
      }
      out.push(this.itemHeader(SEQUENCE_DELIMITATION, 0));
      return;
    }
    if (element.items) {
      this.writeSequence(element, out);
      return;
    }

    const value = element.value ?? new Uint8Array(0);
    if (element.undefinedLength) {
      out.push(this.header(element.tag, element.vr, UNDEFINED_LENGTH));
      out.push(value);
      return;
    }
    const padded = padValue(value, SPACE_PADDED_VRS.has(element.vr ?? 'LO') ? 0x20 : 0);
    out.push(this.header(element.tag, element.vr, padded.length));
    out.push(padded);
  }

  private writeSequence(element: DicomElement, out: ByteChunks): void {
    const content = new ByteChunks();
    for (const item of element.items ?? []) {
      const itemContent = new ByteChunks();
      this.writeElements(item.elements, itemContent);
      const itemLength = item.undefinedLength ? UNDEFINED_LENGTH : itemContent.length;
      content.push(this.itemHeader(ITEM, itemLength));
      content.append(itemContent);
      if (item.undefinedLength) content.push(this.itemHeader(ITEM_DELIMITATION, 0));
    }

    const vr = this.encoding.explicitVR ? 'SQ' : element.vr;
    if (element.undefinedLength) {
      out.push(this.header(element.tag, vr, UNDEFINED_LENGTH));
      out.append(content);
      out.push(this.itemHeader(SEQUENCE_DELIMITATION, 0));
      return;
    }
    out.push(this.header(element.tag, vr, content.length));
    out.append(content);
  }

  private header(tag: number, vr: string | undefined, length: number): Buffer {
    const little = this.encoding.littleEndian;
    if (length > UNDEFINED_LENGTH) {
      throw new Error(`value of ${formatTag(tag)} is longer than 4 GiB`);
    }
    if (!this.encoding.explicitVR) {
      const header = Buffer.alloc(8);
      this.writeTag(header, tag);
      writeUint32(header, 4, length, little);
      return header;
    }
    if (vr === undefined || vr.length !== 2) {
      throw new Error(`cannot write ${formatTag(tag)} as explicit VR: its VR is not known`);
    }

    const long = LongLengthVRs.has(vr);
    const header = Buffer.alloc(long ? 12 : 8);
    this.writeTag(header, tag);
    header.write(vr, 4, 'latin1');
    if (long) {
      writeUint32(header, 8, length, little);
    } else if (length > 0xffff) {
      throw new Error(`value of ${formatTag(tag)} is ${length} bytes, more than VR ${vr} can hold`);
    } else if (little) {
      header.writeUInt16LE(length, 6);
    } else {
      header.writeUInt16BE(length, 6);
    }
    return header;
  }

  private itemHeader(tag: number, length: number): Buffer {
    const header = Buffer.alloc(8);
    this.writeTag(header, tag);
    writeUint32(header, 4, length, this.encoding.littleEndian);
    return header;
  }

  private writeTag(header: Buffer, tag: number): void {
    const group = tag >>> 16;
    const element = tag & 0xffff;
    if (this.encoding.littleEndian) {
      header.writeUInt16LE(group, 0);
      header.writeUInt16LE(element, 2);
    } else {
      header.writeUInt16BE(group, 0);
      header.writeUInt16BE(element, 2);
    }
  }
}

function writeUint32(buffer: Buffer, offset: number, value: number, little: boolean): void {
  if (little) buffer.writeUInt32LE(value, offset);
  else buffer.writeUInt32BE(value, offset);
}

function padValue(value: Uint8Array, pad: number): Uint8Array {
  if (value.length % 2 === 0) return value;
  const padded = new Uint8Array(value.length + 1);
  padded.set(value);
  padded[value.length] = pad;
  return padded;
}
