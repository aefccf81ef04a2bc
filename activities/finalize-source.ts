import fs from 'node:fs/promises';
import path from 'node:path';
import { heartbeat, log } from '@temporalio/activity';
import { and, eq } from 'drizzle-orm';
import { conflicts, deliveryFiles, images } from '../src/db/schema';
import { walkFolder } from '../src/importer/walk';
import type { DeliveryRef, FinalizeSourceResult } from '../workflows/types';
import type { ActivityDeps } from './deps';

export function finalizeSourceActivities({ db, config }: ActivityDeps) {
  /**
   * Maps each deletable source file to the media copies that must exist before it goes; an empty
   * list marks a skipped file that needs no copy.
   */
  async function safeCopies(deliveryId: number): Promise<Map<string, string[]>> {
    const rows = await db
      .select({
        relativePath: deliveryFiles.relativePath,
        status: deliveryFiles.status,
        mediaPath: images.mediaPath,
        keptPath: conflicts.keptPath,
      })
      .from(deliveryFiles)
      .leftJoin(images, eq(images.id, deliveryFiles.imageId))
      .leftJoin(
        conflicts,
        and(eq(conflicts.imageId, deliveryFiles.imageId), eq(conflicts.sha256, deliveryFiles.sha256)),
      )
      .where(eq(deliveryFiles.deliveryId, deliveryId));

    const safe = new Map<string, string[]>();
    for (const row of rows) {
      if ((row.status === 'imported' || row.status === 'duplicate') && row.mediaPath) {
        safe.set(row.relativePath, [row.mediaPath]);
      } else if (row.status === 'conflict' && row.keptPath) {
        safe.set(row.relativePath, [row.keptPath]);
      } else if (row.status === 'skipped' && config.skippedFiles === 'remove') {
        safe.set(row.relativePath, []);
      }
    }
    return safe;
  }

  async function copyExists(relativeMediaPath: string): Promise<boolean> {
    try {
      const stat = await fs.stat(path.join(config.mediaDir, relativeMediaPath));
      return stat.isFile();
    } catch {
      return false;
    }
  }

  return {
    /**
     * Removes the batch folder once every file in it is imported, stored before or deliberately
     * skipped. Files that need a person (failed, unknown, links) stay, and the folder is renamed
     * `<name>.err`. A source file is deleted only after its media copy is found on disk.
     */
    async finalizeSource(input: DeliveryRef & { folderPath: string }): Promise<FinalizeSourceResult> {
      if (config.sourceCleanup === 'keep') return { action: 'kept', keptFiles: 0 };
      try {
        await fs.lstat(input.folderPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { action: 'missing', keptFiles: 0 };
        throw error;
      }

      const safe = await safeCopies(input.deliveryId);
      const walk = await walkFolder(input.folderPath);
      let kept = walk.problems.length;
      let handled = 0;
      for (const file of walk.files) {
        const copies = safe.get(file.relativePath);
        const deletable =
          copies !== undefined && (await Promise.all(copies.map(copyExists))).every(Boolean);
        if (deletable) {
          await fs.unlink(path.join(input.folderPath, file.relativePath));
        } else {
          kept += 1;
        }
        handled += 1;
        if (handled % 500 === 0) heartbeat({ handled });
      }

      await removeEmptyFolders(input.folderPath);
      const remains = await fs.readdir(input.folderPath).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [];
        throw error;
      });
      if (remains.length === 0) {
        await fs.rmdir(input.folderPath);
        log.info('source folder removed', { deliveryId: input.deliveryId });
        return { action: 'removed', keptFiles: 0 };
      }

      const errorFolder = await freeErrorName(input.folderPath);
      await fs.rename(input.folderPath, errorFolder);
      log.warn('source folder kept for attention', {
        deliveryId: input.deliveryId,
        keptFiles: kept,
        errorFolder: path.basename(errorFolder),
      });
      return { action: 'renamed', errorFolder, keptFiles: kept };
    },
  };
}

/** Removes empty subfolders bottom-up; the root is left for the caller. */
async function removeEmptyFolders(root: string): Promise<void> {
  async function visit(dir: string): Promise<boolean> {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    let empty = true;
    for (const entry of entries) {
      if (entry.isDirectory()) {
        const child = path.join(dir, entry.name);
        if (await visit(child)) await fs.rmdir(child);
        else empty = false;
      } else {
        empty = false;
      }
    }
    return empty;
  }
  await visit(root);
}

/** `<folder>.err`, or `<folder>.2.err` and up when an earlier one is still there. */
async function freeErrorName(folderPath: string): Promise<string> {
  for (let n = 1; n < 1000; n += 1) {
    const candidate = n === 1 ? `${folderPath}.err` : `${folderPath}.${n}.err`;
    try {
      await fs.lstat(candidate);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return candidate;
      throw error;
    }
  }
  throw new Error(`no free .err name next to ${folderPath}`);
}
