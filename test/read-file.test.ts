import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BufferPool } from '../src/importer/buffer-pool';
import { FileReadError, readRegularFile } from '../src/importer/read-file';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'read-file-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeFile(name: string, bytes: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

test('pooled read returns the file bytes', async () => {
  const pool = new BufferPool(2);
  const content = Buffer.from('0123456789'.repeat(1000));
  const file = writeFile('a.bin', content);
  const bytes = await readRegularFile(file, 'a.bin', content.length, pool);
  assert.ok(bytes.equals(content));
  assert.equal(bytes.length, content.length);
});

test('released buffer is reused', async () => {
  const pool = new BufferPool(2);
  const first = writeFile('first.bin', Buffer.alloc(5000, 1));
  const second = writeFile('second.bin', Buffer.alloc(3000, 2));
  const bytes = await readRegularFile(first, 'first.bin', 5000, pool);
  const backing = bytes.buffer;
  pool.release(bytes);
  const again = await readRegularFile(second, 'second.bin', 3000, pool);
  assert.equal(again.buffer, backing, 'the second read uses the released buffer');
  assert.ok(again.equals(Buffer.alloc(3000, 2)), 'no byte of the first file remains in the view');
});

test('pool keeps at most maxFree buffers', () => {
  const pool = new BufferPool(1);
  const one = pool.acquire(10);
  const two = pool.acquire(10);
  pool.release(one);
  pool.release(two);
  assert.equal(pool.acquire(10).buffer, one.buffer);
  assert.notEqual(pool.acquire(10).buffer, two.buffer, 'the second release was dropped');
});

test('pooled read reports a changed size', async () => {
  const pool = new BufferPool(2);
  const file = writeFile('grown.bin', Buffer.alloc(2000, 3));
  await assert.rejects(readRegularFile(file, 'grown.bin', 1500, pool), (error: unknown) => {
    assert.ok(error instanceof FileReadError);
    assert.equal(error.code, 'ESIZE');
    assert.equal(error.observedSize, 2000);
    assert.match(error.message, /^grown\.bin: file size changed from 1500 to 2000 bytes/);
    return true;
  });
});

test('pooled read rejects a FIFO', async () => {
  const fifo = path.join(dir, 'pipe.dcm');
  execFileSync('mkfifo', [fifo]);
  await assert.rejects(readRegularFile(fifo, 'pipe.dcm', 0, new BufferPool(1)), /pipe\.dcm: not a regular file/);
});

test('pooled read of an empty file', async () => {
  const file = writeFile('empty.bin', Buffer.alloc(0));
  const bytes = await readRegularFile(file, 'empty.bin', 0, new BufferPool(1));
  assert.equal(bytes.length, 0);
});
