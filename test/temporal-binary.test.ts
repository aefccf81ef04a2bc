import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Client, Connection } from '@temporalio/client';
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';

import { ConfigError } from '../src/errors';
import { findTemporalCli, findTimeSkippingServer, temporalVenvDir } from '../src/temporal/binary';
import { DevServerStartError, startDevServer } from '../src/temporal/dev-server';
import { createTestEnv, createTimeSkippingEnv } from './helpers/temporal';

let scratch: string;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'temporal-binary-'));
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Writes an executable shell script and returns its path. */
async function writeScript(path: string, body = 'exit 0'): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === 'object', 'a TCP address');
  return address.port;
}

/** Runs `run` with some process.env variables changed, then restores them. */
async function withEnv<T>(changes: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const saved = Object.keys(changes).map((name) => [name, process.env[name]] as const);
  Object.assign(process.env, changes);
  try {
    return await run();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('findTemporalCli', () => {
  test('uses TEMPORAL_CLI_PATH first', async () => {
    const cli = await writeScript(join(scratch, 'override', 'my-temporal'));
    const onPath = await writeScript(join(scratch, 'override-path', 'temporal'));
    const env = { TEMPORAL_CLI_PATH: cli, PATH: join(onPath, '..') };

    assert.equal(findTemporalCli(env), cli);
  });

  test('rejects a TEMPORAL_CLI_PATH that is no executable', async () => {
    const notExecutable = join(scratch, 'plain-file');
    await writeFile(notExecutable, 'text');

    assert.throws(() => findTemporalCli({ TEMPORAL_CLI_PATH: notExecutable }), ConfigError);
    assert.throws(() => findTemporalCli({ TEMPORAL_CLI_PATH: join(scratch, 'absent') }), /absent/);
  });

  test('finds a symlink on PATH', async () => {
    const target = await writeScript(join(scratch, 'real', 'temporal-1.9.1'));
    const binDir = join(scratch, 'path-bin');
    await mkdir(binDir);
    await symlink(target, join(binDir, 'temporal'));
    const env = { PATH: [join(scratch, 'missing-dir'), binDir].join(':') };

    assert.equal(findTemporalCli(env), join(binDir, 'temporal'));
  });

  test('skips a dangling symlink on PATH', async () => {
    const binDir = join(scratch, 'dangling-bin');
    await mkdir(binDir);
    await symlink(join(scratch, 'no-such-target'), join(binDir, 'temporal'));
    const env = { PATH: binDir, XDG_CACHE_HOME: join(scratch, 'empty-cache') };

    assert.equal(findTemporalCli(env), undefined);
  });

  test('finds the copy in the cache folder', async () => {
    const cacheHome = join(scratch, 'cache');
    const venvBin = join(cacheHome, 'dicom-import', 'temporal-venv', 'bin');
    const cli = await writeScript(join(venvBin, 'temporal'));
    const env = { PATH: '', XDG_CACHE_HOME: cacheHome };

    assert.equal(temporalVenvDir(env), join(cacheHome, 'dicom-import', 'temporal-venv'));
    assert.equal(findTemporalCli(env), cli);
  });

  test('returns undefined when nothing is installed', () => {
    const env = { PATH: '', XDG_CACHE_HOME: join(scratch, 'empty-cache') };

    assert.equal(findTemporalCli(env), undefined);
  });
});

describe('findTimeSkippingServer', () => {
  test('uses TEMPORAL_TEST_SERVER_PATH first', async () => {
    const server = await writeScript(join(scratch, 'ts-override', 'test-server'));

    assert.equal(findTimeSkippingServer({ TEMPORAL_TEST_SERVER_PATH: server }), server);
  });

  test('finds the copy in the cache folder', async () => {
    const cacheHome = join(scratch, 'ts-cache');
    const venvBin = join(cacheHome, 'dicom-import', 'temporal-venv', 'bin');
    const server = await writeScript(join(venvBin, 'temporal-test-server'));
    await writeScript(join(venvBin, 'temporal'));

    assert.equal(findTimeSkippingServer({ PATH: '', XDG_CACHE_HOME: cacheHome }), server);
  });
});

describe('createTestEnv', () => {
  test('starts a server that lists workflows', async () => {
    const env = await createTestEnv();
    try {
      const executions = [];
      for await (const execution of env.client.workflow.list()) executions.push(execution);

      assert.equal(executions.length, 0);
    } finally {
      await env.teardown();
    }
  });
});

describe('createTimeSkippingEnv', () => {
  test('starts the time-skipping server', async () => {
    const env = await createTimeSkippingEnv();
    try {
      const handle = await env.client.workflow.start('noSuchWorkflow', {
        taskQueue: 'q',
        workflowId: 'ts1',
      });
      const description = await handle.describe();

      assert.equal(env.supportsTimeSkipping, true);
      assert.equal(description.status.name, 'RUNNING');
    } finally {
      await env.teardown();
    }
  });
});

describe('startDevServer', () => {
  const BatchName = defineSearchAttributeKey('BatchName', SearchAttributeType.KEYWORD);
  const log = () => {};

  test('keeps a workflow across a restart', async () => {
    const stateDir = join(scratch, 'dev-state');
    const options = {
      stateDir,
      port: await freePort(),
      uiPort: await freePort(),
      namespace: 'dicom-test',
      searchAttributes: { BatchName: 'Keyword' as const },
      log,
    };

    const first = await startDevServer(options);
    try {
      const connection = await Connection.connect({ address: first.address });
      const client = new Client({ connection, namespace: options.namespace });
      await client.workflow.start('noSuchWorkflow', {
        taskQueue: 'q',
        workflowId: 'w1',
        typedSearchAttributes: [{ key: BatchName, value: 'L123' }],
      });
      await connection.close();
    } finally {
      await first.stop();
    }

    const second = await startDevServer(options);
    try {
      const connection = await Connection.connect({ address: second.address });
      const client = new Client({ connection, namespace: options.namespace });
      const description = await client.workflow.getHandle('w1').describe();
      await connection.close();

      assert.equal(description.status.name, 'RUNNING');
      assert.equal(description.typedSearchAttributes.get(BatchName), 'L123');
      assert.equal(second.uiUrl, `http://127.0.0.1:${options.uiPort}`);
    } finally {
      await second.stop();
    }
  });

  test('rejects a port in use', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const address = busy.address();
    assert.ok(address && typeof address === 'object', 'a TCP address');
    const stateDir = join(scratch, 'busy-state');

    try {
      const starting = startDevServer({
        stateDir,
        port: address.port,
        uiPort: await freePort(),
        namespace: 'default',
        log,
      });
      await assert.rejects(starting, new RegExp(`127\\.0\\.0\\.1:${address.port} is in use`));
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  test('reports an early exit with stderr', async () => {
    const body = 'echo "bind: permission denied" >&2\nexit 3';
    const cli = await writeScript(join(scratch, 'failing', 'temporal'), body);
    const options = {
      stateDir: join(scratch, 'failing-state'),
      port: await freePort(),
      uiPort: await freePort(),
      namespace: 'default',
      log,
    };

    const error = await withEnv({ TEMPORAL_CLI_PATH: cli }, () =>
      startDevServer(options).then(
        () => assert.fail('startDevServer resolved'),
        (error: unknown) => error,
      ),
    );

    assert.ok(error instanceof DevServerStartError);
    assert.match(error.message, /exited with code 3 before listening/);
    assert.match(error.message, /bind: permission denied/);
  });

  test('kills a server that ignores SIGTERM', async () => {
    const pidFile = join(scratch, 'stuck.pid');
    const body = `echo $$ > ${pidFile}\ntrap '' TERM\necho "stuck" >&2\nexec sleep 30`;
    const cli = await writeScript(join(scratch, 'stuck', 'temporal'), body);
    const options = {
      stateDir: join(scratch, 'stuck-state'),
      port: await freePort(),
      uiPort: await freePort(),
      namespace: 'default',
      startTimeoutMs: 500,
      stopTimeoutMs: 300,
      log,
    };

    const starting = withEnv({ TEMPORAL_CLI_PATH: cli }, () => startDevServer(options));

    await assert.rejects(starting, /did not accept connections .* within 500 ms/);
    await assert.rejects(starting, /stuck/);
    const pid = Number(await readFile(pidFile, 'utf8'));
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
  });

  test('explains a missing CLI', async () => {
    const env = { PATH: '', XDG_CACHE_HOME: join(scratch, 'empty-cache'), TEMPORAL_CLI_PATH: '' };
    const options = {
      stateDir: join(scratch, 'missing-state'),
      port: await freePort(),
      uiPort: await freePort(),
      namespace: 'default',
      log,
    };

    const starting = withEnv(env, () => startDevServer(options));

    await assert.rejects(starting, /npm run setup.*TEMPORAL_CLI_PATH/);
  });
});
