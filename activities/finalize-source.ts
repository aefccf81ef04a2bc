import fs from 'node:fs/promises';
import path from 'node:path';
import { heartbeat, log } from '@temporalio/activity';
import { and, eq } from 'drizzle-orm';
import { conflicts, deidImages, deliveryFiles, images } from '../src/db/schema';
import { absolutePathOf } from '../src/importer/names';
import { redactQueryError } from '../src/importer/query-errors';
import { walkFolder } from '../src/importer/walk';
import { sweepStaleTempFiles } from '../src/storage/temp-files';
import type { DeliveryRef, FinalizeSourceResult } from '../workflows/types';
import type { ActivityDeps } from './deps';

/** A source file that may go once its media copies exist and it still has its listed size. */
interface Deletable {
  copies: string[];
  size: number;
}

export function finalizeSourceActivities({ db, config }: ActivityDeps) {
  /**
   * Maps each deletable source file to the media copies that must exist before it goes and to its
   * listed size. An empty list of copies marks a skipped file.
   */
  async function deletableFiles(deliveryId: number): Promise<Map<string, Deletable>> {
    const rows = await db
      .select({
        relativePath: deliveryFiles.relativePath,
        status: deliveryFiles.status,
        size: deliveryFiles.size,
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

    const deletable = new Map<string, Deletable>();
    for (const row of rows) {
      let copies: string[] | undefined;
      if ((row.status === 'imported' || row.status === 'duplicate') && row.mediaPath) {
        copies = [row.mediaPath];
      } else if (row.status === 'conflict' && row.keptPath) {
        copies = [row.keptPath];
      } else if (row.status === 'skipped' && config.skippedFiles === 'remove') {
        copies = [];
      }
      if (copies) deletable.set(row.relativePath, { copies, size: row.size });
    }
    return deletable;
  }

  async function copyExists(relativeMediaPath: string): Promise<boolean> {
    try {
      const stat = await fs.stat(path.join(config.mediaDir, relativeMediaPath));
      return stat.isFile();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  /**
   * Removes temporary files that workers which have exited left in the storage folders of this
   * batch, so a killed worker leaves nothing behind once the batch is done.
   */
  async function sweepBatchFolders(ref: DeliveryRef): Promise<void> {
    const media = await db
      .select({ mediaPath: images.mediaPath, keptPath: conflicts.keptPath })
      .from(deliveryFiles)
      .leftJoin(images, eq(images.id, deliveryFiles.imageId))
      .leftJoin(conflicts, eq(conflicts.imageId, deliveryFiles.imageId))
      .where(eq(deliveryFiles.deliveryId, ref.deliveryId));
    const outputs = await db
      .select({ path: deidImages.path })
      .from(deidImages)
      .where(eq(deidImages.batchId, ref.batchId));
    const folders = new Set<string>();
    for (const row of media) {
      if (row.mediaPath) folders.add(path.dirname(path.join(config.mediaDir, row.mediaPath)));
      if (row.keptPath) folders.add(path.dirname(path.join(config.mediaDir, row.keptPath)));
    }
    for (const row of outputs) {
      if (row.path) folders.add(path.dirname(path.join(config.deidDir, row.path)));
    }
    const removed = await sweepStaleTempFiles(folders, { maxAgeMs: config.tempMaxAgeMs });
    if (removed.length > 0) {
      log.info('abandoned temporary files removed', { batchId: ref.batchId, files: removed.length });
    }
  }

  async function finalize(input: DeliveryRef & { folderPath: string }): Promise<FinalizeSourceResult> {
    await sweepBatchFolders(input);
    if (config.sourceCleanup === 'keep') return { action: 'kept', keptFiles: 0 };
    try {
      await fs.lstat(input.folderPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { action: 'missing', keptFiles: 0 };
      throw error;
    }

    const deletable = await deletableFiles(input.deliveryId);
    const walk = await walkFolder(input.folderPath, { dataDir: config.dataDir });
    let kept = walk.problems.length;
    let handled = 0;
    for (const file of walk.files) {
      const entry = deletable.get(file.relativePath);
      // A file whose size changed since the listing is not the file that was imported or skipped.
      const unchanged = entry !== undefined && entry.size === file.size;
      if (unchanged && (await Promise.all(entry.copies.map(copyExists))).every(Boolean)) {
        await fs.unlink(absolutePathOf(input.folderPath, file.relativePath));
      } else {
        kept += 1;
      }
      handled += 1;
      if (handled % 500 === 0) heartbeat({ handled });
    }

    await removeEmptyFolders(absolutePathOf(input.folderPath, ''));
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
  }

  return {
    /**
     * Removes the batch folder once every file in it is imported, stored before or deliberately
     * skipped. Files that need a person (failed, unknown, links) stay, and the folder is renamed
     * `<name>.err`. A source file is deleted only after its media copy is found on disk.
     */
    async finalizeSource(input: DeliveryRef & { folderPath: string }): Promise<FinalizeSourceResult> {
      try {
        return await finalize(input);
      } catch (error) {
        throw redactQueryError(error);
      }
    },
  };
}

/** Removes empty subfolders bottom-up; the root is left for the caller. Names are handled as bytes. */
async function removeEmptyFolders(root: Buffer): Promise<void> {
  async function visit(dir: Buffer): Promise<boolean> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      // The listing could not read this folder either and reported it; it stays, so not empty.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'ENAMETOOLONG') return false;
      throw error;
    }
    let empty = true;
    for (const entry of entries) {
      if (entry.isDirectory()) {
        const child = Buffer.concat([dir, Buffer.from('/'), entry.name]);
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
