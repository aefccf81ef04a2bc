import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Database } from '../../src/db/client';
import { batches, deliveries, deliveryFiles } from '../../src/db/schema';
import { parseDicom } from '../../src/dicom/parse';
import { BufferPool } from '../../src/importer/buffer-pool';
import { readRegularFile } from '../../src/importer/read-file';
import { storeImageGroup } from '../../src/importer/store-group';
import type { StoreImageInput } from '../../src/importer/store-image';
import { walkFolder } from '../../src/importer/walk';

const INSERT_PAGE = 1000;

/**
 * Imports a folder with the product's per-file code in one plain loop, without Temporal: the batch
 * and delivery rows, the listing into delivery_files, then read and parseDicom per file, and
 * storeImageGroup per group within the worker's group limits. Throws when a file is not imported as
 * a new image.
 */
export async function importFolderDirectly(
  db: Database,
  mediaDir: string,
  folder: string,
  groupLimits: { files: number; bytes: number },
): Promise<void> {
  const name = path.basename(folder);
  const [batch] = await db
    .insert(batches)
    .values({ name, status: 'PROCESSING' })
    .returning({ id: batches.id });
  if (!batch) throw new Error(`batch ${name} not inserted`);
  const [delivery] = await db
    .insert(deliveries)
    .values({ batchId: batch.id, key: `direct/${name}`, folderPath: folder })
    .returning({ id: deliveries.id });
  if (!delivery) throw new Error(`delivery of ${name} not inserted`);

  const walk = await walkFolder(folder);
  const fileIds: number[] = [];
  for (let start = 0; start < walk.files.length; start += INSERT_PAGE) {
    const page = walk.files.slice(start, start + INSERT_PAGE);
    const rows = await db
      .insert(deliveryFiles)
      .values(
        page.map((file, index) => ({
          deliveryId: delivery.id,
          ordinal: start + index,
          relativePath: file.relativePath,
          size: file.size,
        })),
      )
      .returning({ id: deliveryFiles.id });
    fileIds.push(...rows.map((row) => row.id));
  }

  let group: StoreImageInput[] = [];
  let groupBytes = 0;
  const pool = new BufferPool(groupLimits.files + 1);
  const storeGroup = async () => {
    const outcomes = await storeImageGroup(db, group);
    for (const [index, stored] of outcomes.entries()) {
      const relativePath = group[index]?.relativePath;
      if (!stored.ok) throw new Error(`${relativePath}: ${(stored.error as Error).message}`);
      if (stored.outcome.kind !== 'imported') throw new Error(`${relativePath}: stored as ${stored.outcome.kind}`);
    }
    for (const image of group) pool.release(image.bytes);
    group = [];
    groupBytes = 0;
  };
  for (const [index, file] of walk.files.entries()) {
    const bytes = await readRegularFile(path.join(folder, file.relativePath), file.relativePath, undefined, pool);
    const parsed = parseDicom(bytes);
    if (parsed.outcome === 'skip') throw new Error(`${file.relativePath}: skipped: ${parsed.reason}`);
    group.push({
      mediaDir,
      batchId: batch.id,
      fileId: fileIds[index] ?? 0,
      relativePath: file.relativePath,
      bytes,
      encoding: parsed.encoding,
      header: parsed.values,
    });
    groupBytes += bytes.length;
    if (group.length >= groupLimits.files || groupBytes >= groupLimits.bytes) await storeGroup();
  }
  if (group.length > 0) await storeGroup();
  await db
    .update(batches)
    .set({ status: 'DONE', importedAt: new Date() })
    .where(eq(batches.id, batch.id));
}
