import type { DataSet } from 'dicom-parser';
import { readFile } from 'node:fs/promises';
import { NotImportableError } from '../errors';
import { decodeText } from './charset';
import { readDicom } from './read';
import { MediaStorageDirectoryStorage, Tags, type Keyword } from './tags';
import type { ImageHeader, ParseResult } from './types';

/** VRs decoded with SpecificCharacterSet; other string VRs hold only the default repertoire. */
const textVRs = new Set(['PN', 'LO', 'SH', 'ST', 'LT', 'UT', 'UC']);

/** VRs whose leading spaces are padding too (PS3.5 Table 6.2-1); the others keep them. */
const leadingSpaceInsignificantVRs = new Set([
  'AE', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'SH', 'TM',
]);

/** Data set keywords stored on an image; TransferSyntaxUID comes from the reader instead. */
const headerKeywords = [
  'SOPInstanceUID', 'SOPClassUID', 'StudyInstanceUID', 'SeriesInstanceUID', 'PatientID',
  'PatientName', 'AccessionNumber', 'StudyDate', 'StudyTime', 'StudyDescription', 'Modality',
  'SeriesNumber', 'SeriesDescription', 'InstanceNumber', 'NumberOfFrames', 'BurnedInAnnotation',
  'SpecificCharacterSet',
] as const satisfies readonly Keyword[];

/**
 * Parses one file's bytes into the values the importer stores, or a skip reason: `not DICOM`,
 * `no SOPInstanceUID`, `media directory (DICOMDIR), not an image`, `truncated: ...` or
 * `corrupt: ...`. Throws only for a fault of this code, never for bad input.
 */
export function parseDicom(bytes: Buffer): ParseResult {
  try {
    return { outcome: 'import', ...readHeader(bytes) };
  } catch (error) {
    if (error instanceof NotImportableError) {
      return { outcome: 'skip', reason: error.reason };
    }
    throw error;
  }
}

/** Reads a file and parses it with parseDicom; a read error (missing file, I/O) is thrown. */
export async function parseDicomFile(path: string): Promise<ParseResult> {
  return parseDicom(await readFile(path));
}

function readHeader(bytes: Buffer): Omit<Extract<ParseResult, { outcome: 'import' }>, 'outcome'> {
  // Stopping at PixelData skips nothing the header needs; the reader still checks that it fits.
  // NOTE: elements after PixelData (trailing padding, for one) are not checked, and a file cut
  // exactly between two elements before PixelData reads as a whole, shorter data set.
  const read = readDicom(bytes, { untilTag: Tags.PixelData.tag });
  const { dataSet } = read;
  const isDirectory =
    stringValue(dataSet, 'MediaStorageSOPClassUID', '') === MediaStorageDirectoryStorage ||
    dataSet.elements[Tags.DirectoryRecordSequence.tag] !== undefined;
  if (isDirectory) {
    throw new NotImportableError('media directory (DICOMDIR), not an image');
  }

  const specificCharacterSet = stringValue(dataSet, 'SpecificCharacterSet', '');
  const values = { TransferSyntaxUID: read.transferSyntaxUID } as ImageHeader;
  for (const keyword of headerKeywords) {
    values[keyword] = stringValue(dataSet, keyword, specificCharacterSet);
  }
  if (values.SOPInstanceUID === '') {
    throw new NotImportableError('no SOPInstanceUID');
  }
  return { encoding: read.encoding, values };
}

/** Returns the decoded value of an attribute without its padding, or '' when it is absent. */
function stringValue(dataSet: DataSet, keyword: Keyword, specificCharacterSet: string): string {
  const { tag, vr } = Tags[keyword];
  const element = dataSet.elements[tag];
  if (element === undefined || element.length === 0) {
    return '';
  }

  const bytes = dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + element.length);
  const text = textVRs.has(vr) ? decodeText(bytes, specificCharacterSet, vr) : latin1(bytes);
  const trailingTrimmed = text.replace(/[\0 ]+$/, '');
  return leadingSpaceInsignificantVRs.has(vr) ? trailingTrimmed.trimStart() : trailingTrimmed;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
