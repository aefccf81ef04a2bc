import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadTemplate, writeVariants } from '../scripts/faults/corpus';
import { CORPUS, createTestDirs } from './helpers/fixtures';

const ROOT = path.resolve(__dirname, '..');

/** Root reads every file, so the check runs as `nobody` through setpriv; without both it is skipped. */
function nobodyIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
    const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }));
    return { uid, gid };
  } catch {
    return undefined;
  }
}

// Runs as `nobody`: the real activities over an in-memory PGlite, as a worker would run them.
const CHILD = `
import { MockActivityEnvironment } from '${require.resolve('@temporalio/testing')}';
import { createActivities } from '${ROOT}/activities';
import { loadConfig } from '${ROOT}/src/config';
import { openPglite } from '${ROOT}/src/db/client';
import { batchMessages } from '${ROOT}/src/db/schema';

async function main() {
  const config = loadConfig();
  const handle = await openPglite();
  await handle.migrate();
  const activities = createActivities({ db: handle.db, config });
  const mock = new MockActivityEnvironment();
  const folderPath = process.argv[2] as string;
  const ref = await mock.run(activities.beginDelivery, {
    batchName: 'U', folderPath, deliveryKey: 'U/1', workflowId: 'import:U',
  });
  await mock.run(activities.listFiles, { ...ref, folderPath });
  for (let attempt = 0; attempt < config.fileMaxAttempts; attempt += 1) {
    await mock.run(activities.importFiles, { ...ref, folderPath, fromOrdinal: 0, toOrdinal: 100 })
      .catch(() => undefined);
  }
  const figures = await mock.run(activities.closeBatch, ref);
  const status = await mock.run(activities.finishBatch, { ...ref });
  const source = await mock.run(activities.finalizeSource, { ...ref, folderPath });
  const messages = await handle.db.select().from(batchMessages);
  console.log(JSON.stringify({ figures, status, source, messages }));
  await handle.close();
}
main().catch((error) => { console.error(error); process.exit(1); });
`;

const ids = nobodyIds();

test('unreadable entries reported as nobody', { skip: !ids && 'needs root and setpriv' }, () => {
  const dirs = createTestDirs();
  try {
    const { uid, gid } = ids as { uid: number; gid: number };
    const template = loadTemplate(path.join(CORPUS, 'studies/TINY_ALPHA/IM000000'));
    const folder = path.join(dirs.config.dataDir, 'U');
    writeVariants(template, folder, 0, 2);
    writeVariants(template, path.join(folder, 'locked'), 2, 1);
    fs.renameSync(path.join(folder, 'IM000001.dcm'), path.join(folder, 'secret.dcm'));
    const script = path.join(dirs.root, 'child.ts');
    fs.writeFileSync(script, CHILD);
    execFileSync('chown', ['-R', `${uid}:${gid}`, dirs.root]);
    fs.chmodSync(path.join(folder, 'secret.dcm'), 0o000);
    fs.chmodSync(path.join(folder, 'locked'), 0o000);

    const child = spawnSync(
      'setpriv',
      [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, '--import', 'tsx', script, folder],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, ...envOf(dirs.config), HOME: dirs.root, LOG_LEVEL: 'silent' },
      },
    );
    assert.equal(child.status, 0, child.stderr);
    const output = JSON.parse(child.stdout.trim().split('\n').at(-1) as string);

    const byPath = new Map(output.messages.map((m: { path: string }) => [m.path, m]));
    const secret = byPath.get('secret.dcm') as { level: string; message: string } | undefined;
    assert.equal(secret?.level, 'error');
    assert.match(secret?.message ?? '', /EACCES/);
    const locked = byPath.get('locked') as { level: string; message: string } | undefined;
    assert.equal(locked?.level, 'error');
    assert.match(locked?.message ?? '', /folder could not be read/);
    assert.equal(output.figures.imageCount, 1);
    assert.equal(output.figures.failedCount, 1);
    assert.equal(output.status, 'ERROR');
    assert.equal(output.source.action, 'renamed');
  } finally {
    fs.chmodSync(path.join(dirs.config.dataDir), 0o755);
    execFileSync('chmod', ['-R', 'u+rwx', dirs.root]);
    dirs.cleanup();
  }
});

function envOf(config: ReturnType<typeof createTestDirs>['config']): Record<string, string> {
  return {
    DATA_DIR: config.dataDir,
    MEDIA_DIR: config.mediaDir,
    DEID_DIR: config.deidDir,
    STATE_DIR: config.stateDir,
    DEID_SECRET: 'test-secret',
    FILE_MAX_ATTEMPTS: String(config.fileMaxAttempts),
  };
}
