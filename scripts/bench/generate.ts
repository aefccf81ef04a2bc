import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import dicomParser from 'dicom-parser';

/** The uncompressed 512 x 512 CT image every generated file is derived from. */
export const SOURCE_IMAGE = path.resolve(
  __dirname,
  '../../../shared/dicom/ct/CT1_UNC.explicit_little_endian.dcm',
);

/** UID attributes rewritten in every copy, by the level whose identity they carry. */
const PATCHED_UIDS = {
  MediaStorageSOPInstanceUID: { tag: 'x00020003', level: 'image' },
  SOPInstanceUID: { tag: 'x00080018', level: 'image' },
  StudyInstanceUID: { tag: 'x0020000d', level: 'study' },
  SeriesInstanceUID: { tag: 'x0020000e', level: 'series' },
  FrameOfReferenceUID: { tag: 'x00200052', level: 'series' },
} as const;

type Level = 'image' | 'series' | 'study';

interface UidSlot {
  keyword: string;
  level: Level;
  offset: number;
  length: number;
  /** Leading part of the original UID that every copy keeps. */
  prefix: string;
}

export interface GenerateOptions {
  files: number;
  series: number;
  studies: number;
  /** Folder to create; it must not exist yet. */
  folder: string;
  /** File every copy is derived from; SOURCE_IMAGE when omitted. */
  template?: string;
}

export interface GeneratedFolder {
  folder: string;
  files: number;
  bytes: number;
  /** Path of one generated file, relative to `folder`. */
  sample: string;
}

/**
 * Finds where each UID's value sits in the template. The copy keeps the UID's byte length, so every
 * other offset, the meta group length and the file size stay valid.
 */
function uidSlots(template: Buffer, templatePath: string): UidSlot[] {
  const dataSet = dicomParser.parseDicom(template, { untilTag: 'x7fe00010' });
  return Object.entries(PATCHED_UIDS).map(([keyword, { tag, level }]) => {
    const element = dataSet.elements[tag];
    if (!element) throw new Error(`${templatePath}: ${keyword} (${tag}) not found`);
    const end = element.dataOffset + element.length;
    const original = template.toString('latin1', element.dataOffset, end);
    const value = original.replace(/\0+$/, '');
    // The last two components are replaced, so the copy keeps the original's organisation root.
    const components = value.split('.');
    const prefix = `${components.slice(0, -2).join('.')}.`;
    if (components.length < 4 || element.length - prefix.length < 16) {
      throw new Error(`${templatePath}: ${keyword} ${value} is too short to derive unique UIDs`);
    }
    return { keyword, level, offset: element.dataOffset, length: element.length, prefix };
  });
}

/**
 * Builds a UID of exactly `slot.length` characters: the original prefix, then one component made of
 * a leading 1 (no leading zero), the level digit, the run tag and the zero-padded index.
 */
function derivedUid(slot: UidSlot, runTag: string, index: number): string {
  const levelDigit = { image: '1', series: '2', study: '3' }[slot.level];
  const head = `${slot.prefix}1${levelDigit}${runTag}`;
  const width = slot.length - head.length;
  const digits = String(index);
  if (digits.length > width) throw new Error(`index ${index} does not fit in ${slot.keyword}`);
  return head + digits.padStart(width, '0');
}

/**
 * Returns a random 8-digit tag, so folders of different runs share no UID unless two tags collide
 * (a chance of 1 in 90 million per pair of runs).
 */
export function newRunTag(): string {
  return String(randomInt(10_000_000, 100_000_000));
}

/**
 * Writes `files` copies of the CT template (or `options.template`) into `folder`, spread over `series` series and
 * `studies` studies (one subfolder per series), each with new SOP, series and study UIDs.
 */
export async function generateFolder(options: GenerateOptions): Promise<GeneratedFolder> {
  const templatePath = options.template ?? SOURCE_IMAGE;
  const template = await fs.readFile(templatePath);
  const slots = uidSlots(template, templatePath);
  const runTag = newRunTag();
  const series = Math.max(1, Math.min(options.series, options.files));
  const studies = Math.max(1, Math.min(options.studies, series));
  await fs.mkdir(options.folder);

  let sample = '';
  for (let seriesIndex = 0; seriesIndex < series; seriesIndex += 1) {
    const seriesFolder = path.join(options.folder, `series-${seriesIndex + 1}`);
    await fs.mkdir(seriesFolder);
    for (let image = seriesIndex; image < options.files; image += series) {
      const bytes = Buffer.from(template);
      const indexOf: Record<Level, number> = {
        image,
        series: seriesIndex,
        study: seriesIndex % studies,
      };
      for (const slot of slots) {
        bytes.write(derivedUid(slot, runTag, indexOf[slot.level]), slot.offset, slot.length, 'latin1');
      }
      const name = `IM${String(image + 1).padStart(6, '0')}.dcm`;
      await fs.writeFile(path.join(seriesFolder, name), bytes);
      sample ||= path.join(`series-${seriesIndex + 1}`, name);
    }
  }
  const bytes = options.files * template.length;
  return { folder: options.folder, files: options.files, bytes, sample };
}

/**
 * Checks one generated file with dcmtk's `dcmdump`: it must parse without warnings and carry the
 * patched SOPInstanceUID in both the meta header and the data set.
 */
export function verifyWithDcmdump(file: string): string {
  const result = spawnSync('dcmdump', ['+P', '0002,0003', '+P', '0008,0018', file], {
    encoding: 'utf8',
  });
  if (result.error) throw new Error(`dcmdump ${file} failed to run: ${result.error.message}`);
  if (result.status !== 0 || result.stderr.trim() !== '') {
    throw new Error(`dcmdump ${file} failed (status ${result.status}): ${result.stderr.trim()}`);
  }
  const uids = [...result.stdout.matchAll(/UI \[([0-9.]+)\]/g)].map((match) => match[1]);
  if (uids.length !== 2 || uids[0] !== uids[1]) {
    throw new Error(`dcmdump ${file}: meta and data set SOPInstanceUID differ: ${result.stdout}`);
  }
  return uids[0] ?? '';
}
