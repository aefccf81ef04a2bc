import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { StorageWriteError, commitTempFile, writeFileAtomic, writeTempFile } from '../src/storage/files';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-files-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('atomic write creates its folders', async () => {
  const target = path.join(root, 'a', 'b', 'image.dcm');
  await writeFileAtomic(target, Buffer.from('first'));
  assert.equal(fs.readFileSync(target, 'utf8'), 'first');
  assert.deepEqual(fs.readdirSync(path.dirname(target)), ['image.dcm']);
});

test('write recreates a removed folder', async () => {
  const folder = path.join(root, 'removed');
  await writeFileAtomic(path.join(folder, 'one.dcm'), Buffer.from('one'));
  fs.rmSync(folder, { recursive: true });
  const target = path.join(folder, 'two.dcm');
  await writeFileAtomic(target, Buffer.from('two'));
  assert.equal(fs.readFileSync(target, 'utf8'), 'two');
});

test('rename recreates a removed target folder', async () => {
  const source = path.join(root, 'source', 'x.dcm');
  const temp = await writeTempFile(source, Buffer.from('moved'));
  const target = path.join(root, 'target', 'x.dcm');
  await writeFileAtomic(path.join(root, 'target', 'other.dcm'), Buffer.from('other'));
  fs.rmSync(path.dirname(target), { recursive: true });
  await commitTempFile(temp, target);
  assert.equal(fs.readFileSync(target, 'utf8'), 'moved');
});

test('large write is complete', async () => {
  const bytes = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let index = 0; index < bytes.length; index += 1) bytes[index] = index % 251;
  const target = path.join(root, 'large', 'big.dcm');
  await writeFileAtomic(target, bytes);
  assert.ok(fs.readFileSync(target).equals(bytes));
});

test('folder blocked by a file fails with its path', async () => {
  const blocker = path.join(root, 'blocked');
  fs.writeFileSync(blocker, 'not a folder');
  const target = path.join(blocker, 'inside', 'image.dcm');
  await assert.rejects(writeTempFile(target, Buffer.from('x')), (error: unknown) => {
    assert.ok(error instanceof StorageWriteError);
    assert.equal(error.step, 'mkdir');
    assert.equal(error.code, 'ENOTDIR');
    assert.ok(error.message.includes(path.join(blocker, 'inside')), error.message);
    return true;
  });
});
