import fs from 'node:fs/promises';
import path from 'node:path';

export interface ListedFile {
  /** Path relative to the batch folder, with `/` separators. */
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

/** Folders deeper than this are reported, not read: a loop or a hostile tree must not hang the walk. */
const MAX_DEPTH = 64;

/**
 * Lists every regular file under `root`, in subfolders too, sorted by relative path so a repeated
 * walk of the same tree gives the same order. Symbolic links are not followed, and anything that is
 * not a regular file (FIFO, socket, device) is reported instead of opened.
 */
export async function walkFolder(
  root: string,
  onProgress?: (filesSoFar: number) => void,
): Promise<WalkResult> {
  const files: ListedFile[] = [];
  const problems: WalkProblem[] = [];
  const pending: Array<{ relative: string; depth: number }> = [{ relative: '', depth: 0 }];

  while (pending.length > 0) {
    const next = pending.pop();
    if (!next) break;
    const absolute = path.join(root, next.relative);
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(absolute, { withFileTypes: true });
    } catch (error) {
      if (next.relative === '') throw error;
      problems.push({
        relativePath: next.relative,
        code: 'unreadable',
        message: `folder could not be read: ${(error as Error).message}`,
      });
      continue;
    }

    for (const entry of entries) {
      const relative = next.relative === '' ? entry.name : `${next.relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (next.depth + 1 > MAX_DEPTH) {
          problems.push({
            relativePath: relative,
            code: 'unreadable',
            message: `folder nested deeper than ${MAX_DEPTH} levels was not read`,
          });
        } else {
          pending.push({ relative, depth: next.depth + 1 });
        }
      } else if (entry.isSymbolicLink()) {
        problems.push({
          relativePath: relative,
          code: 'symlink',
          message: 'symbolic link not followed',
        });
      } else if (entry.isFile()) {
        try {
          const stat = await fs.lstat(path.join(root, relative));
          files.push({ relativePath: relative, size: stat.size });
          if (onProgress && files.length % 1000 === 0) onProgress(files.length);
        } catch (error) {
          problems.push({
            relativePath: relative,
            code: 'unreadable',
            message: `file could not be examined: ${(error as Error).message}`,
          });
        }
      } else {
        problems.push({
          relativePath: relative,
          code: 'not-regular',
          message: 'not a regular file (FIFO, socket or device), not read',
        });
      }
    }
  }

  files.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
  return { files, problems };
}
