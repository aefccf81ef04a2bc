/** Header values the importer stores for one image, keyed by DICOM attribute keyword. */
export interface ImageHeader {
  SOPInstanceUID: string;
  SOPClassUID: string;
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
  PatientID: string;
  /** Decoded to Unicode from the data set's SpecificCharacterSet. */
  PatientName: string;
  AccessionNumber: string;
  StudyDate: string;
  StudyTime: string;
  StudyDescription: string;
  Modality: string;
  SeriesNumber: string;
  SeriesDescription: string;
  InstanceNumber: string;
  TransferSyntaxUID: string;
  /** Copied as written, even when the file holds an invalid IS value such as `1A`. */
  NumberOfFrames: string;
  BurnedInAnnotation: string;
  SpecificCharacterSet: string;
}

/** `part10` has the 128-byte preamble, `DICM` and a file meta group; `dataset` is a bare data set. */
export type DicomEncoding = 'part10' | 'dataset';

export type ParseResult =
  | { outcome: 'import'; encoding: DicomEncoding; values: ImageHeader }
  | { outcome: 'skip'; reason: string };
