import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findPrebuiltBundle, writePrebuiltBundle } from '../src/temporal/workflow-bundle';

describe('prebuilt workflow bundle', () => {
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workflow-bundle-'));
    await writePrebuiltBundle(dir);
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const manifestPath = () => path.join(dir, 'workflow-bundle.json');
  const readManifest = () =>
    JSON.parse(fs.readFileSync(manifestPath(), 'utf8')) as {
      sdkVersion: string;
      inputs: Record<string, string>;
    };

  test('current while inputs are unchanged', () => {
    const found = findPrebuiltBundle(dir);
    assert.deepEqual(found, { status: 'current', codePath: path.join(dir, 'workflow-bundle.js') });
    const inputs = Object.keys(readManifest().inputs);
    assert.ok(
      inputs.some((input) => input.endsWith('workflows/import-batch.ts')),
      `the import workflow is an input: ${inputs.join(', ')}`,
    );
  });

  test('stale after an input changed', () => {
    const saved = fs.readFileSync(manifestPath(), 'utf8');
    try {
      const manifest = readManifest();
      const input = Object.keys(manifest.inputs).find((name) => name.endsWith('workflows/pool.ts'));
      assert.ok(input, 'workflows/pool.ts is an input');
      manifest.inputs[input] = '0'.repeat(64);
      fs.writeFileSync(manifestPath(), JSON.stringify(manifest));
      assert.deepEqual(findPrebuiltBundle(dir), {
        status: 'stale',
        reason: `${path.resolve(dir, input)} changed`,
      });
    } finally {
      fs.writeFileSync(manifestPath(), saved);
    }
  });

  test('stale with another SDK version', () => {
    const saved = fs.readFileSync(manifestPath(), 'utf8');
    try {
      fs.writeFileSync(manifestPath(), JSON.stringify({ ...readManifest(), sdkVersion: '0.0.1' }));
      const found = findPrebuiltBundle(dir);
      assert.equal(found.status, 'stale');
      assert.match(found.status === 'stale' ? found.reason : '', /^built with SDK 0\.0\.1, running \d+\./);
    } finally {
      fs.writeFileSync(manifestPath(), saved);
    }
  });

  test('missing without its code file', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'workflow-bundle-empty-'));
    try {
      fs.copyFileSync(manifestPath(), path.join(empty, 'workflow-bundle.json'));
      assert.deepEqual(findPrebuiltBundle(empty), { status: 'missing' });
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
