/**
 * Tags in the `xGGGGEEEE` form that dicom-parser uses as element keys, named by DICOM keyword.
 * `vr` is the dictionary VR, which implicit VR data sets do not carry.
 */
export const Tags = {
  FileMetaInformationGroupLength: { tag: 'x00020000', vr: 'UL' },
  MediaStorageSOPClassUID: { tag: 'x00020002', vr: 'UI' },
  TransferSyntaxUID: { tag: 'x00020010', vr: 'UI' },
  DirectoryRecordSequence: { tag: 'x00041220', vr: 'SQ' },
  SpecificCharacterSet: { tag: 'x00080005', vr: 'CS' },
  SOPClassUID: { tag: 'x00080016', vr: 'UI' },
  SOPInstanceUID: { tag: 'x00080018', vr: 'UI' },
  StudyDate: { tag: 'x00080020', vr: 'DA' },
  StudyTime: { tag: 'x00080030', vr: 'TM' },
  AccessionNumber: { tag: 'x00080050', vr: 'SH' },
  Modality: { tag: 'x00080060', vr: 'CS' },
  StudyDescription: { tag: 'x00081030', vr: 'LO' },
  SeriesDescription: { tag: 'x0008103e', vr: 'LO' },
  PatientName: { tag: 'x00100010', vr: 'PN' },
  PatientID: { tag: 'x00100020', vr: 'LO' },
  StudyInstanceUID: { tag: 'x0020000d', vr: 'UI' },
  SeriesInstanceUID: { tag: 'x0020000e', vr: 'UI' },
  SeriesNumber: { tag: 'x00200011', vr: 'IS' },
  InstanceNumber: { tag: 'x00200013', vr: 'IS' },
  NumberOfFrames: { tag: 'x00280008', vr: 'IS' },
  BurnedInAnnotation: { tag: 'x00280301', vr: 'CS' },
  PixelData: { tag: 'x7fe00010', vr: 'OW' },
} as const;

export type Keyword = keyof typeof Tags;

export const TransferSyntax = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
} as const;

/** MediaStorageSOPClassUID of a DICOMDIR (Media Storage Directory Storage). */
export const MediaStorageDirectoryStorage = '1.2.840.10008.1.3.10';

/** Value representations defined in PS3.5 6.2; explicit VR data sets write one of these. */
export const KnownVRs = new Set([
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL',
  'OV', 'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US',
  'UT', 'UV',
]);

/** VRs whose explicit VR header has 2 reserved bytes and a 4-byte length (PS3.5 7.1.2). */
export const LongLengthVRs = new Set([
  'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV',
]);
