import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type ImageTemplate, variantUid } from './corpus';
import { seededRandom } from './result';

/** The corpus's damaged and non-DICOM files. */
export const BROKEN_DIR = path.resolve(__dirname, '../../../shared/dicom/broken');

/** One entry of a generated bad-input folder, by the path the importer reports. */
export interface BadEntry {
  relativePath: string;
  kind: string;
  /** `entry`: reported by the listing (link, FIFO), never read; `file`: read and judged. */
  level: 'entry' | 'file';
  /** The manifest lists this corpus file as importable despite its folder. */
  importable?: boolean;
}

/** Paths (relative to the corpus) that the corpus manifest lists as importable. */
function importableCorpusFiles(): Set<string> {
  const manifest = JSON.parse(
    fs.readFileSync(path.join(BROKEN_DIR, '..', 'manifest.json'), 'utf8'),
  ) as Array<{ path: string; expect: string }>;
  return new Set(manifest.filter((entry) => entry.expect === 'import').map((entry) => entry.path));
}

/** Offsets at which copies of the template are cut, spread over meta header, data set and pixels. */
export function cutOffsets(length: number): number[] {
  return [1, 100, 128, 132, 140, 300, 700, 5_000, Math.floor(length / 2), length - 1];
}

function writeCopy(template: ImageTemplate, index: number, length: number, file: string): void {
  const copy = Buffer.from(template.bytes);
  const uid = variantUid(template, index);
  for (const offset of template.offsets) copy.write(uid, offset, 'latin1');
  fs.writeFileSync(file, copy.subarray(0, length));
}

/**
 * Writes bad input into `folder`: every corpus file of the broken folder, a zero-byte file, random
 * bytes, copies cut at ten offsets, a FIFO and symbolic links (dangling, a loop, one pointing
 * outside the data folder). Copies use SOPInstanceUID variants from `firstIndex` on, so none
 * collides with good files. Returns the entries, by reported path.
 */
export function writeBadInput(
  template: ImageTemplate,
  folder: string,
  firstIndex: number,
  seed: number,
): BadEntry[] {
  const entries: BadEntry[] = [];
  const bad = path.join(folder, 'bad');
  fs.mkdirSync(bad, { recursive: true });
  const add = (name: string, kind: string, level: BadEntry['level'] = 'file') =>
    entries.push({ relativePath: `bad/${name}`, kind, level });

  const importable = importableCorpusFiles();
  for (const name of fs.readdirSync(BROKEN_DIR)) {
    fs.copyFileSync(path.join(BROKEN_DIR, name), path.join(bad, name));
    if (importable.has(`broken/${name}`)) {
      entries.push({ relativePath: `bad/${name}`, kind: 'odd but valid file', level: 'file', importable: true });
    } else {
      add(name, 'corpus broken file');
    }
  }
  fs.writeFileSync(path.join(bad, 'zero-bytes.dcm'), Buffer.alloc(0));
  add('zero-bytes.dcm', 'zero bytes');
  const random = seededRandom(seed);
  for (const size of [1, 131, 132, 4_096, 70_000]) {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i += 1) bytes[i] = Math.floor(random() * 256);
    fs.writeFileSync(path.join(bad, `random-${size}.bin`), bytes);
    add(`random-${size}.bin`, 'random bytes');
  }
  for (const [n, offset] of cutOffsets(template.bytes.length).entries()) {
    writeCopy(template, firstIndex + n, offset, path.join(bad, `cut-at-${offset}.dcm`));
    add(`cut-at-${offset}.dcm`, 'truncated copy');
  }

  execFileSync('mkfifo', [path.join(bad, 'fifo')]);
  add('fifo', 'FIFO', 'entry');
  fs.symlinkSync('no-such-target', path.join(bad, 'dangling-link'));
  add('dangling-link', 'dangling link', 'entry');
  fs.symlinkSync('loop-b', path.join(bad, 'loop-a'));
  fs.symlinkSync('loop-a', path.join(bad, 'loop-b'));
  add('loop-a', 'link loop', 'entry');
  add('loop-b', 'link loop', 'entry');
  fs.symlinkSync('/etc/hostname', path.join(bad, 'outside-link'));
  add('outside-link', 'link outside DATA_DIR', 'entry');
  fs.symlinkSync('..', path.join(bad, 'parent-link'));
  add('parent-link', 'link to the batch folder', 'entry');
  return entries;
}
