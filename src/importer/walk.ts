import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { absolutePathOf, encodePathComponent, joinRelative } from './names';

export interface ListedFile {
  /** Path relative to the batch folder, with `/` separators; see names.ts for non-UTF-8 names. */
  relativePath: string;
  size: number;
}

export interface WalkProblem {
  relativePath: string;
  code: 'symlink' | 'not-regular' | 'unreadable';
  message: string;
}

export interface WalkResult {
  files: ListedFile[];
  problems: WalkProblem[];
}

export interface WalkOptions {
  /** The data folder; a symbolic link is described as pointing inside or outside it. */
  dataDir?: string;
  onProgress?: (filesSoFar: number) => void;
}

/** Folders deeper than this are reported, not read: a hostile tree must not hang the walk. */
export const MAX_DEPTH = 64;

/** The batch folder itself is a symbolic link; it is not followed. */
export class FolderIsLinkError extends Error {
  override readonly name = 'FolderIsLinkError';

  constructor(readonly folderPath: string) {
    super(`batch folder ${folderPath} is a symbolic link, not followed`);
  }
}

/**
 * Lists every regular file under `root`, in subfolders too, sorted by relative path so a repeated
 * walk of the same tree gives the same order. Names are read as bytes, so a name that is not valid
 * UTF-8 is listed too. Symbolic links are never followed, so a link cannot lead outside the
 * folder or into a loop. Links and anything that is not a regular file or folder (FIFO, socket,
 * device) are reported by path instead of opened; so are folders that cannot be read.
 */
export async function walkFolder(root: string, options: WalkOptions = {}): Promise<WalkResult> {
  const rootStat = await fs.lstat(root);
  if (rootStat.isSymbolicLink()) throw new FolderIsLinkError(root);
  if (!rootStat.isDirectory()) {
    throw Object.assign(new Error(`${root} is not a folder`), { code: 'ENOTDIR' });
  }

  const files: ListedFile[] = [];
  const problems: WalkProblem[] = [];
  const pending: Array<{ relative: string; depth: number }> = [{ relative: '', depth: 0 }];
  while (pending.length > 0) {
    const next = pending.pop() as { relative: string; depth: number };
    const entries = await readFolder(root, next.relative, problems);
    for (const entry of entries) {
      const relative = joinRelative(next.relative, encodePathComponent(entry.name));
      if (entry.isDirectory()) {
        if (next.depth + 1 > MAX_DEPTH) {
          problems.push(unreadable(relative, `folder nested deeper than ${MAX_DEPTH} levels, not read`));
        } else {
          pending.push({ relative, depth: next.depth + 1 });
        }
      } else if (entry.isSymbolicLink()) {
        problems.push(await describeLink(root, relative, options.dataDir));
      } else if (entry.isFile()) {
        await listFile(root, relative, files, problems);
        if (options.onProgress && files.length % 1000 === 0) options.onProgress(files.length);
      } else {
        problems.push({
          relativePath: relative,
          code: 'not-regular',
          message: 'not a regular file (FIFO, socket or device), not read',
        });
      }
    }
  }

  files.sort((a, b) => compareCodeUnits(a.relativePath, b.relativePath));
  return { files, problems };
}

function unreadable(relativePath: string, message: string): WalkProblem {
  return { relativePath, code: 'unreadable', message };
}

/** Reads one folder's entries with their names as bytes; a failure below the root is a problem. */
async function readFolder(
  root: string,
  relative: string,
  problems: WalkProblem[],
): Promise<Dirent<Buffer>[]> {
  try {
    return await fs.readdir(absolutePathOf(root, relative), { withFileTypes: true, encoding: 'buffer' });
  } catch (error) {
    if (relative === '') throw error;
    problems.push(unreadable(relative, `folder could not be read: ${(error as Error).message}`));
    return [];
  }
}

async function listFile(root: string, relative: string, files: ListedFile[], problems: WalkProblem[]) {
  try {
    const stat = await fs.lstat(absolutePathOf(root, relative));
    files.push({ relativePath: relative, size: stat.size });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Removed between the folder read and the lstat: it is no longer part of the folder.
    if (code === 'ENOENT') return;
    problems.push(unreadable(relative, `file could not be examined: ${(error as Error).message}`));
  }
}

/** Describes a link without following it for the walk: dangling, a loop, or where it points. */
async function describeLink(root: string, relative: string, dataDir?: string): Promise<WalkProblem> {
  const linkPath = absolutePathOf(root, relative);
  const problem = (message: string): WalkProblem => ({ relativePath: relative, code: 'symlink', message });
  let target: string;
  try {
    target = (await fs.readlink(linkPath, { encoding: 'buffer' })).toString('utf8');
    const resolved = await fs.realpath(linkPath);
    if (dataDir !== undefined) {
      const inside = isInside(await fs.realpath(dataDir), resolved);
      const where = inside ? 'inside' : 'outside';
      return problem(`symbolic link to ${target} (${where} DATA_DIR) not followed`);
    }
    return problem(`symbolic link to ${target} not followed`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return problem('dangling symbolic link (its target does not exist), not followed');
    if (code === 'ELOOP') return problem('symbolic link loop, not followed');
    return problem(`symbolic link not followed; it could not be resolved: ${(error as Error).message}`);
  }
}

function isInside(folder: string, candidate: string): boolean {
  const relative = path.relative(folder, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Orders strings by UTF-16 code units, which is stable across locales, unlike localeCompare. */
function compareCodeUnits(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}
