import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { type DatabaseHandle, openPglite, openPostgres } from '../../src/db/client';

/** Admin connection of the local Postgres server; TEST_DATABASE_URL overrides it. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  handle: DatabaseHandle;
  url?: string;
  /** Empties every table, for tests that need a fresh schema between steps. */
  truncate(): Promise<void>;
  dispose(): Promise<void>;
}

export type DatabaseKind = 'pglite' | 'postgres';

async function truncateAll(handle: DatabaseHandle): Promise<void> {
  await handle.db.execute(sql`
    truncate deid_images, patients, conflicts, batch_messages, images, series, studies,
      delivery_files, deliveries, batches, settings restart identity cascade
  `);
}

/** Creates a migrated database: in-memory PGlite, or a fresh database on the local Postgres server. */
export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const handle = await openPglite();
    await handle.migrate();
    return { handle, truncate: () => truncateAll(handle), dispose: () => handle.close() };
  }

  const name = `dicom_import_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const handle = openPostgres(url.toString());
  await handle.migrate();
  return {
    handle,
    url: url.toString(),
    truncate: () => truncateAll(handle),
    async dispose() {
      await handle.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
