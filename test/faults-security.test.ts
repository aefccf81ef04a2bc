import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { MockActivityEnvironment } from '@temporalio/testing';
import { sql } from 'drizzle-orm';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { createActivities } from '../activities';
import { batches } from '../src/db/schema';
import { redactQueryError } from '../src/importer/query-errors';
import { startImport } from '../src/temporal/client';
import { loadTemplate, writeVariants } from '../scripts/faults/corpus';
import { type TestDatabase, createTestDatabase } from './helpers/db';
import { CORPUS, createTestDirs } from './helpers/fixtures';
import { testWorker } from './helpers/pipeline';
import { createTestEnv } from './helpers/temporal';

const ROOT = path.resolve(__dirname, '..');
const TINY = loadTemplate(path.join(CORPUS, 'studies/TINY_ALPHA/IM000000'));
const mock = new MockActivityEnvironment();

/** MockActivityEnvironment.run with the activity's own argument and result types. */
function run<A extends unknown[], R>(activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return mock.run(activity as never, ...(args as unknown as never[])) as Promise<R>;
}

/** Source files of the product, for the review checks below. */
function productSources(): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.name.endsWith('.ts')) out.push(full);
    }
  };
  for (const dir of ['src', 'activities', 'workflows']) visit(path.join(ROOT, dir));
  return out;
}

describe('folder names', () => {
  let env: TestWorkflowEnvironment;
  let database: TestDatabase;

  before(async () => {
    env = await createTestEnv();
    database = await createTestDatabase('pglite');
  });

  after(async () => {
    await database?.dispose();
    await env?.teardown();
  });

  test('hostile names imported verbatim', async () => {
    const dirs = createTestDirs();
    const marker = path.join(dirs.root, 'pwned');
    try {
      const names = [
        `$(touch ${marker})`,
        `\`touch ${marker}\``,
        `x; touch ${marker}`,
        "'; drop table batches; --",
        '"; drop table images; --',
        'back\\slash %2F..%2F :colon',
        'line\nbreak\ttab',
        `${'w'.repeat(200)} 😀`,
      ];
      const { worker, config } = await testWorker(env, dirs.config, database.handle.db);
      const results = await worker.runUntil(
        Promise.all(
          names.map(async (name, index) => {
            const folder = path.join(config.dataDir, name);
            writeVariants(TINY, folder, 100 + index, 1);
            const started = await startImport(env.client, config, name, folder);
            return env.client.workflow.getHandle(started.workflowId).result();
          }),
        ),
      );

      for (const [index, name] of names.entries()) {
        assert.equal(results[index]?.status, 'DONE', `import of ${JSON.stringify(name)}`);
      }
      const stored = (await database.handle.db.select({ name: batches.name }).from(batches)).map((b) => b.name);
      assert.deepEqual(stored.sort(), [...names].sort());
      assert.equal(fs.existsSync(marker), false, 'no folder name ran as a command');
      await database.handle.db.execute(sql`select count(*) from images`);
    } finally {
      dirs.cleanup();
    }
  });
});

test('no shell and no raw SQL in product code', () => {
  for (const file of productSources()) {
    const text = fs.readFileSync(file, 'utf8');
    const relative = path.relative(ROOT, file);
    assert.doesNotMatch(text, /shell:\s*true/, `${relative} starts a shell`);
    const imports = /import\s*\{([^}]*)\}\s*from\s*'(?:node:)?child_process'/.exec(text)?.[1] ?? '';
    assert.doesNotMatch(imports, /\bexec(Sync)?\b/, `${relative} runs a command line through a shell`);
    assert.doesNotMatch(text, /sql\.raw\(|\.unsafe\(/, `${relative} builds SQL from text`);
  }
});

test('query errors lose their parameters', () => {
  const error = new DrizzleQueryError('insert into "studies" values ($1, $2)', ['Doe^John', '555-12'], {
    name: 'PostgresError',
    message: 'new row violates check constraint',
    code: '23514',
  } as unknown as Error);

  const redacted = redactQueryError(error) as Error;

  assert.doesNotMatch(redacted.message, /Doe\^John|555-12/);
  assert.doesNotMatch(redacted.stack ?? '', /Doe\^John|555-12/);
  assert.match(redacted.message, /SQLSTATE 23514/);
});

test('failed study insert keeps header values out', async () => {
  const database = await createTestDatabase('pglite');
  const dirs = createTestDirs();
  try {
    await database.handle.db.execute(sql`alter table studies add constraint reject_all check (false) not valid`);
    const folder = path.join(dirs.config.dataDir, 'REJECT');
    writeVariants(TINY, folder, 300, 1);
    const activities = createActivities({ db: database.handle.db, config: dirs.config });
    const ref = await run(activities.beginDelivery, {
      batchName: 'REJECT',
      folderPath: folder,
      deliveryKey: 'REJECT/1',
      workflowId: 'import:REJECT',
    });
    await run(activities.listFiles, { ...ref, folderPath: folder });

    const failure = await run(activities.importFiles, { ...ref, folderPath: folder, fromOrdinal: 0, toOrdinal: 10 })
      .then(() => undefined, (error: Error) => error);

    assert.ok(failure, 'import fails');
    const text = `${failure.message}\n${failure.stack}\n${String((failure as { cause?: unknown }).cause)}`;
    assert.doesNotMatch(text, /Citizen|12345678/);
    assert.match(failure.message, /SQLSTATE 23514/);
  } finally {
    dirs.cleanup();
    await database.dispose();
  }
});
