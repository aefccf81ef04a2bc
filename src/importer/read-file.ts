import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import type { BufferPool } from './buffer-pool';

/** Files above this size are not read into memory; they fail with a reason and stay in the folder. */
export const MAX_FILE_BYTES = 2 * 1024 ** 3 - 1;

/** A per-file problem: the file could not be read now. Counted against FILE_MAX_ATTEMPTS. */
export class FileReadError extends Error {
  override readonly name = 'FileReadError';

  constructor(
    readonly relativePath: string,
    message: string,
    readonly code?: string,
    /** Size found at this read when it differs from the expected one. */
    readonly observedSize?: number,
  ) {
    super(`${relativePath}: ${message}`);
  }
}

/**
 * Reads a whole regular file. Opening with O_NONBLOCK and O_NOFOLLOW keeps a FIFO swapped in after the
 * listing from blocking the read, and a symbolic link from being followed.
 *
 * With `expectedSize`, the size recorded when the folder was listed, a file of another size, or one
 * that changes size while it is read, is still being written: it fails with FileReadError, and
 * `observedSize` is the size to expect at the next attempt. A file is thus read only once its size
 * has stayed the same between two looks.
 *
 * With `pool`, the bytes are read into a buffer of the pool, which the caller releases once done.
 */
export async function readRegularFile(
  absolutePath: string | Buffer,
  relativePath: string,
  expectedSize?: number,
  pool?: BufferPool,
): Promise<Buffer> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(absolutePath, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file vanished after the listing' : (error as Error).message;
    throw new FileReadError(relativePath, reason, code);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new FileReadError(relativePath, 'not a regular file');
    if (stat.size > MAX_FILE_BYTES) {
      throw new FileReadError(relativePath, `file of ${stat.size} bytes exceeds ${MAX_FILE_BYTES}`);
    }
    if (expectedSize !== undefined && stat.size !== expectedSize) {
      throw sizeChanged(relativePath, expectedSize, stat.size);
    }
    const bytes = pool ? await readInto(handle, pool, stat.size) : await handle.readFile();
    if (bytes.length !== stat.size) {
      pool?.release(bytes);
      throw sizeChanged(relativePath, stat.size, bytes.length);
    }
    return bytes;
  } catch (error) {
    if (error instanceof FileReadError) throw error;
    throw new FileReadError(relativePath, (error as Error).message, (error as NodeJS.ErrnoException).code);
  } finally {
    await handle.close();
  }
}

/**
 * Reads the whole file into a pooled buffer with room for one byte more than `size`, so a file that
 * grew since its stat shows as longer.
 */
async function readInto(handle: fs.FileHandle, pool: BufferPool, size: number): Promise<Buffer> {
  const buffer = pool.acquire(size + 1);
  let filled = 0;
  try {
    while (filled < size + 1) {
      const { bytesRead } = await handle.read(buffer, filled, size + 1 - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
  } catch (error) {
    pool.release(buffer);
    throw error;
  }
  return buffer.subarray(0, filled);
}

function sizeChanged(relativePath: string, expected: number, observed: number): FileReadError {
  return new FileReadError(
    relativePath,
    `file size changed from ${expected} to ${observed} bytes: still being written`,
    'ESIZE',
    observed,
  );
}
