import { KnownVRs, LongLengthVRs, TransferSyntax } from './tags';

/** Encoding of the data set of a file. */
export interface Syntax {
  transferSyntaxUID: string;
  littleEndian: boolean;
  explicitVR: boolean;
  deflated: boolean;
}

const undefinedLength = 0xffffffff;

/**
 * Returns the encoding of a transfer syntax. Every transfer syntax but implicit VR little endian
 * and explicit VR big endian is explicit VR little endian, the encapsulated ones included.
 */
export function syntaxOfUID(transferSyntaxUID: string): Syntax {
  return {
    transferSyntaxUID,
    littleEndian: transferSyntaxUID !== TransferSyntax.ExplicitVRBigEndian,
    explicitVR: transferSyntaxUID !== TransferSyntax.ImplicitVRLittleEndian,
    deflated: transferSyntaxUID === TransferSyntax.DeflatedExplicitVRLittleEndian,
  };
}

/**
 * Detects the transfer syntax of a data set from its first element, or returns undefined when
 * that element is not well formed in any of them. Byte order: the group number read in the right
 * order is the smaller one, because data sets start with a low group (0008 in practice). VR: an
 * explicit VR header has a known VR after the tag. Either way the first value has to fit in the
 * file: in text, gzip data or a data set shifted by one byte the length bytes read as a number
 * far beyond the end.
 */
export function detectSyntax(bytes: Buffer, offset: number): Syntax | undefined {
  // Group 0000 contains DIMSE command elements, which a stored data set never contains.
  if (bytes.length - offset < 8 || bytes.readUInt16LE(offset) === 0) {
    return undefined;
  }
  const littleEndian = bytes.readUInt16LE(offset) <= bytes.readUInt16BE(offset);
  const vr = bytes.toString('latin1', offset + 4, offset + 6);
  const readUint16 = (at: number) =>
    littleEndian ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at);
  const readUint32 = (at: number) =>
    littleEndian ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at);
  const fits = (valueOffset: number, length: number) =>
    length === undefinedLength || valueOffset + length <= bytes.length;

  const long = LongLengthVRs.has(vr);
  if (KnownVRs.has(vr) && (!long || bytes.length - offset >= 12)) {
    const length = long ? readUint32(offset + 8) : readUint16(offset + 6);
    if (fits(offset + (long ? 12 : 8), length)) {
      return syntaxOfUID(
        littleEndian ? TransferSyntax.ExplicitVRLittleEndian : TransferSyntax.ExplicitVRBigEndian,
      );
    }
  }
  // Implicit VR big endian is no DICOM transfer syntax, so only the little endian form is tried.
  if (littleEndian && fits(offset + 8, readUint32(offset + 4))) {
    return syntaxOfUID(TransferSyntax.ImplicitVRLittleEndian);
  }
  return undefined;
}
