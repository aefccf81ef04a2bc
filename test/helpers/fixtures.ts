import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config';

/** The corpus of real DICOM files, read in place: DICOM_CORPUS_DIR, or `shared/dicom` beside the checkout. */
export const CORPUS = process.env.DICOM_CORPUS_DIR ?? path.resolve(__dirname, '../../../shared/dicom');

export interface ManifestEntry {
  path: string;
  expect: 'import' | 'skip';
  reason?: string;
  encoding?: 'part10' | 'dataset';
  values?: Record<string, string>;
}

export function loadManifest(): ManifestEntry[] {
  return JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')) as ManifestEntry[];
}

export interface TestDirs {
  root: string;
  config: Config;
  cleanup(): void;
}

/** Creates temporary data, media, deid and state folders and a configuration pointing at them. */
export function createTestDirs(overrides: Record<string, string> = {}): TestDirs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dicom-import-test-'));
  const env: Record<string, string> = {
    DATA_DIR: path.join(root, 'data'),
    MEDIA_DIR: path.join(root, 'media'),
    DEID_DIR: path.join(root, 'deid'),
    STATE_DIR: path.join(root, 'state'),
    DEID_SECRET: 'test-secret',
    FILE_MAX_ATTEMPTS: '3',
    ...overrides,
  };
  for (const key of ['DATA_DIR', 'MEDIA_DIR', 'DEID_DIR', 'STATE_DIR'] as const) {
    fs.mkdirSync(env[key] as string, { recursive: true });
  }
  return {
    root,
    config: loadConfig(env),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** Copies corpus files (paths relative to the corpus) into `folder`, keeping their relative paths. */
export function copyCorpusFiles(relativePaths: string[], folder: string): void {
  for (const relative of relativePaths) {
    const target = path.join(folder, relative);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(path.join(CORPUS, relative), target);
  }
}

/** Copies a corpus folder into `target` recursively. */
export function copyCorpusFolder(relative: string, target: string): void {
  fs.cpSync(path.join(CORPUS, relative), target, { recursive: true });
}

/** Lists files under `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const visit = (current: string) => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) visit(full);
      else out.push(path.relative(dir, full));
    }
  };
  visit(dir);
  return out.sort();
}
