import { parseDicomFile } from '../dicom/parse';

/** Keys of `values` in `inspect --json`, the attributes the importer stores. */
const VALUE_KEYS = [
  'SOPInstanceUID',
  'SOPClassUID',
  'StudyInstanceUID',
  'SeriesInstanceUID',
  'PatientID',
  'PatientName',
  'AccessionNumber',
  'StudyDate',
  'Modality',
  'SeriesNumber',
  'InstanceNumber',
  'SeriesDescription',
  'TransferSyntaxUID',
  'NumberOfFrames',
] as const;

export interface InspectEntry {
  path: string;
  outcome: 'import' | 'skip';
  reason?: string;
  encoding?: string;
  values?: Record<string, string>;
}

/** Parses files with the importer's own code and reports what an import would store or skip. */
export async function inspectFiles(paths: string[]): Promise<InspectEntry[]> {
  const entries: InspectEntry[] = [];
  for (const file of paths) {
    let result;
    try {
      result = await parseDicomFile(file);
    } catch (error) {
      throw new Error(`${file} could not be read: ${(error as Error).message}`);
    }
    if (result.outcome === 'skip') {
      entries.push({ path: file, outcome: 'skip', reason: result.reason });
      continue;
    }
    const values = Object.fromEntries(VALUE_KEYS.map((key) => [key, result.values[key]]));
    entries.push({ path: file, outcome: 'import', encoding: result.encoding, values });
  }
  return entries;
}

export async function runInspect(paths: string[], options: { json?: boolean }): Promise<void> {
  const entries = await inspectFiles(paths);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
    return;
  }
  for (const entry of entries) {
    if (entry.outcome === 'skip') {
      process.stdout.write(`${entry.path}: skip: ${entry.reason}\n`);
    } else {
      const v = entry.values ?? {};
      process.stdout.write(
        `${entry.path}: import (${entry.encoding}) ${v.Modality} SOPInstanceUID ${v.SOPInstanceUID}\n`,
      );
    }
  }
}
