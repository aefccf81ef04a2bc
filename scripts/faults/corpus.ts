import fs from 'node:fs';
import path from 'node:path';
import { parseDicom } from '../../src/dicom/parse';

/** The real-size CT image the fault scenarios copy, about 530 kB. */
export const SOURCE_IMAGE = path.resolve(
  __dirname,
  '../../../shared/dicom/ct/CT1_UNC.explicit_little_endian.dcm',
);

export interface ImageTemplate {
  bytes: Buffer;
  SOPInstanceUID: string;
  /** Offsets of every copy of the SOPInstanceUID (file meta and data set). */
  offsets: number[];
}

export function loadTemplate(file = SOURCE_IMAGE): ImageTemplate {
  const bytes = fs.readFileSync(file);
  const parsed = parseDicom(bytes);
  if (parsed.outcome !== 'import') throw new Error(`${file}: not importable: ${parsed.reason}`);
  const uid = Buffer.from(parsed.values.SOPInstanceUID, 'latin1');
  const offsets: number[] = [];
  for (let at = bytes.indexOf(uid); at >= 0; at = bytes.indexOf(uid, at + 1)) offsets.push(at);
  if (offsets.length === 0) throw new Error(`${file}: SOPInstanceUID bytes not found`);
  return { bytes, SOPInstanceUID: parsed.values.SOPInstanceUID, offsets };
}

/**
 * Returns the SOPInstanceUID of copy `index`: the template's UID with its last component replaced
 * by a number of the same length, so every element keeps its length and the file stays valid.
 */
export function variantUid(template: ImageTemplate, index: number): string {
  const uid = template.SOPInstanceUID;
  const cut = uid.lastIndexOf('.') + 1;
  const digits = uid.length - cut;
  const first = 10n ** BigInt(digits - 1);
  if (digits < 4 || BigInt(index) >= 9n * first) throw new Error(`no variant ${index} of UID ${uid}`);
  return uid.slice(0, cut) + String(first + BigInt(index));
}

/** Writes copies `from` to `from + count - 1` into `folder` as `IM<index>.dcm`; returns their UIDs. */
export function writeVariants(
  template: ImageTemplate,
  folder: string,
  from: number,
  count: number,
): string[] {
  fs.mkdirSync(folder, { recursive: true });
  const uids: string[] = [];
  const copy = Buffer.from(template.bytes);
  for (let index = from; index < from + count; index += 1) {
    const uid = variantUid(template, index);
    for (const offset of template.offsets) copy.write(uid, offset, 'latin1');
    fs.writeFileSync(path.join(folder, `IM${String(index).padStart(6, '0')}.dcm`), copy);
    uids.push(uid);
  }
  return uids;
}
