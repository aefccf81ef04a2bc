import * as dicomParser from 'dicom-parser';
import { inflateRawSync } from 'node:zlib';
import { NotImportableError } from '../errors';
import type { DicomEncoding } from './types';
import { Tags } from './tags';
import { detectSyntax, type Syntax, syntaxOfUID } from './transfer-syntax';

export interface DicomRead {
  /** Top-level data set, with the file meta elements merged in for a part10 file. */
  dataSet: dicomParser.DataSet;
  /** Bytes that the offsets of `dataSet` refer to: the inflated bytes for a deflated file. */
  byteArray: Uint8Array;
  encoding: DicomEncoding;
  /** From the file meta group, or detected from the first element of a bare data set. */
  transferSyntaxUID: string;
  littleEndian: boolean;
  explicitVR: boolean;
  deflated: boolean;
  /** Offset in `byteArray` where the main data set starts, 0 for a bare data set. */
  metaEnd: number;
}

interface MetaHeader {
  elements: Record<string, dicomParser.Element>;
  end: number;
}

// The typings of dicom-parser 1.8.21 omit the DataSet constructor that the package exports.
const { DataSet } = dicomParser as unknown as {
  DataSet: new (
    parser: dicomParser.ByteArrayParser,
    byteArray: Uint8Array,
    elements: Record<string, dicomParser.Element>,
  ) => dicomParser.DataSet;
};

const preambleLength = 128;
const undefinedLength = 0xffffffff;

/**
 * Reads the bytes of one file: a part10 file (preamble, `DICM`, file meta group) or a bare data
 * set, in any transfer syntax dicom-parser reads. With `untilTag` the data set is parsed up to
 * that element, whose value is still checked to fit in the file when it is PixelData. Throws
 * NotImportableError with a short reason for anything not importable, a truncated file included.
 */
export function readDicom(bytes: Buffer, options: { untilTag?: string } = {}): DicomRead {
  const part10 = hasPart10Prefix(bytes);
  const meta = part10 ? readMetaHeader(bytes) : { elements: {}, end: 0 };
  const syntax = syntaxOf(bytes, meta, part10);
  const byteArray = syntax.deflated ? inflateDataSet(bytes, meta.end) : bytes;
  const dataSet = parseDataSet(byteArray, meta.end, syntax, options.untilTag);
  Object.assign(dataSet.elements, meta.elements);

  checkComplete(dataSet, byteArray.length, options.untilTag);

  return {
    dataSet,
    byteArray,
    encoding: part10 ? 'part10' : 'dataset',
    metaEnd: meta.end,
    ...syntax,
  };
}

function hasPart10Prefix(bytes: Buffer): boolean {
  return bytes.length >= preambleLength + 4 && bytes.toString('latin1', 128, 132) === 'DICM';
}

/**
 * Reads the file meta group up to the first element of another group. dicom-parser's own
 * readPart10Header stops only at a tag above (0002,FFFF), so it reads a data set that starts with
 * an element of group 0000 or 0001 as meta elements and runs off the end of the file.
 */
function readMetaHeader(bytes: Buffer): MetaHeader {
  if (bytes.length <= preambleLength + 4) {
    throw new NotImportableError('truncated: file ends after the DICM prefix');
  }
  const parser = dicomParser.littleEndianByteArrayParser;
  const stream = new dicomParser.ByteStream(parser, bytes, preambleLength + 4);
  const elements: Record<string, dicomParser.Element> = {};
  while (stream.position + 2 <= bytes.length && parser.readUint16(bytes, stream.position) === 2) {
    const element = callParser(() => dicomParser.readDicomElementExplicit(stream, stream.warnings));
    element.parser = parser;
    elements[element.tag] = element;
  }
  if (stream.position > bytes.length || declaredMetaEnd(bytes, elements) > bytes.length) {
    throw new NotImportableError('truncated: file meta information ends before its last element');
  }
  return { elements, end: stream.position };
}

/** End of the meta group that FileMetaInformationGroupLength gives, or 0 without one. */
function declaredMetaEnd(bytes: Buffer, elements: Record<string, dicomParser.Element>): number {
  const groupLength = elements[Tags.FileMetaInformationGroupLength.tag];
  if (groupLength === undefined || groupLength.length !== 4) {
    return 0;
  }
  const valueEnd = groupLength.dataOffset + 4;
  return valueEnd > bytes.length ? valueEnd : valueEnd + bytes.readUInt32LE(groupLength.dataOffset);
}

function syntaxOf(bytes: Buffer, meta: MetaHeader, part10: boolean): Syntax {
  const element = meta.elements[Tags.TransferSyntaxUID.tag];
  const end = element ? element.dataOffset + element.length : 0;
  const uid = element ? trimUID(bytes.toString('latin1', element.dataOffset, end)) : '';
  if (uid !== '') {
    return syntaxOfUID(uid);
  }

  // A part10 file without TransferSyntaxUID is read like a bare data set after its meta group.
  const detected = detectSyntax(bytes, meta.end);
  if (detected !== undefined) {
    return detected;
  }
  if (!part10) {
    throw new NotImportableError('not DICOM');
  }
  const remaining = bytes.length - meta.end;
  if (remaining > 0 && remaining < 8) {
    throw new NotImportableError('truncated: file ends within the first data element');
  }
  throw new NotImportableError(
    'corrupt: no TransferSyntaxUID, and the first data element matches no transfer syntax',
  );
}

function trimUID(value: string): string {
  return value.replace(/[\0 ]+$/, '').trim();
}

/**
 * Inflates a deflated data set with node:zlib. dicom-parser 1.8.21 inflates by itself only when
 * the input is a Buffer and calls Buffer.copy on it, so the reader does it for every input.
 */
function inflateDataSet(bytes: Buffer, metaEnd: number): Buffer {
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(bytes.subarray(metaEnd));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const category = /unexpected end/.test(message) ? 'truncated' : 'corrupt';
    throw new NotImportableError(`${category}: deflated data set cannot be inflated (${message})`);
  }
  return Buffer.concat([bytes.subarray(0, metaEnd), inflated]);
}

function parseDataSet(byteArray: Uint8Array, start: number, syntax: Syntax, untilTag?: string) {
  const parser = syntax.littleEndian
    ? dicomParser.littleEndianByteArrayParser
    : dicomParser.bigEndianByteArrayParser;
  const dataSet = new DataSet(parser, byteArray, {});
  if (start >= byteArray.length) {
    dataSet.warnings = [];
    return dataSet;
  }

  // NOTE: dicom-parser 1.8.21 gives the 64-bit VRs OV, SV and UV a 2-byte length, so an explicit
  // VR data set that contains one of them is misread from there on.
  const stream = new dicomParser.ByteStream(parser, byteArray, start);
  dataSet.warnings = stream.warnings;
  // The typings demand untilTag, but dicom-parser reads to the end when it is undefined.
  const options = { untilTag } as { untilTag: string };
  const parseElements = syntax.explicitVR
    ? dicomParser.parseDicomDataSetExplicit
    : dicomParser.parseDicomDataSetImplicit;
  callParser(() => parseElements(dataSet, stream, byteArray.length, options));
  return dataSet;
}

/** Runs a dicom-parser call, whose errors are mostly thrown strings, and names what failed. */
function callParser<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // A sequence item whose declared length runs past the end fails with an invalid maxPosition.
    const truncated = /past end|overrun|overread|maxP ?osition/.test(message);
    const category = truncated ? 'truncated' : 'corrupt';
    throw new NotImportableError(`${category}: ${message}`);
  }
}

/**
 * Throws when an element, a sequence item or a pixel data fragment ends after the end of the
 * bytes. dicom-parser seeks past a value whose length runs off the end without a check (implicit
 * VR always, explicit VR for the last value) and only warns when a delimiter is missing.
 */
function checkComplete(dataSet: dicomParser.DataSet, size: number, untilTag?: string): void {
  const last = untilTag === undefined ? undefined : dataSet.elements[untilTag];
  if (last !== undefined && last.dataOffset >= size) {
    throw new NotImportableError(`truncated: file ends before the value of element ${last.tag}`);
  }
  if (last?.length === undefinedLength && last.tag === Tags.PixelData.tag) {
    callParser(() => {
      const { byteArrayParser, byteArray } = dataSet;
      const stream = new dicomParser.ByteStream(byteArrayParser, byteArray, last.dataOffset);
      dicomParser.findEndOfEncapsulatedElement(stream, last, dataSet.warnings);
    });
  }

  const warning = dataSet.warnings.find(isMissingDelimiterWarning);
  if (warning !== undefined) {
    throw new NotImportableError(`truncated: ${warning}`);
  }
  const tag = findIncompleteElement(dataSet, size);
  if (tag !== undefined) {
    throw new NotImportableError(`truncated: element ${tag} ends after the last byte (${size})`);
  }
}

/**
 * Tells a dicom-parser warning about a missing delimiter apart from its warning that the peek
 * for a sequence item tag hit the end, which a complete short last value also causes.
 */
function isMissingDelimiterWarning(text: string): boolean {
  return /eof encountered|missing sequence delimiter/.test(text) && !text.includes('peeking');
}

function findIncompleteElement(dataSet: dicomParser.DataSet, size: number): string | undefined {
  for (const element of Object.values(dataSet.elements)) {
    if (element.length !== undefinedLength && element.dataOffset + element.length > size) {
      return element.tag;
    }
    if (element.length === undefinedLength) {
      continue; // the untilTag element, whose value is not read
    }
    if (element.hadUndefinedLength && !hasDelimiterAtEnd(dataSet, element)) {
      return element.tag;
    }
    if (element.fragments?.some((fragment) => fragment.position + fragment.length > size)) {
      return element.tag;
    }
    for (const item of element.items ?? []) {
      const inItem = item.dataSet ? findIncompleteElement(item.dataSet, size) : undefined;
      if (item.dataOffset + item.length > size || inItem !== undefined) {
        return inItem ?? element.tag;
      }
    }
  }
  return undefined;
}

/**
 * Checks that an undefined-length value ends with an item or sequence delimitation item.
 * dicom-parser sets the length of such a value to the rest of the file, silently, when it finds
 * no delimiter. Sequences and encapsulated pixel data are checked through their warnings.
 */
function hasDelimiterAtEnd(dataSet: dicomParser.DataSet, element: dicomParser.Element): boolean {
  if (element.items !== undefined || element.encapsulatedPixelData) {
    return true;
  }
  const end = element.dataOffset + element.length;
  if (end < 8 || end > dataSet.byteArray.length) {
    return false;
  }
  const parser = dataSet.byteArrayParser;
  const group = parser.readUint16(dataSet.byteArray, end - 8);
  const elementNumber = parser.readUint16(dataSet.byteArray, end - 6);
  return group === 0xfffe && (elementNumber === 0xe00d || elementNumber === 0xe0dd);
}
