import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  /** The embedded database, when `kind` is `pglite`; the `start` command serves it on a socket. */
  pglite?: PGlite;
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/** Finds the generated migrations both from the sources and from the compiled `dist/` tree. */
export function migrationsFolder(): string {
  let dir = __dirname;
  for (let depth = 0; depth < 5; depth += 1) {
    const candidate = path.join(dir, 'drizzle');
    if (fs.existsSync(path.join(candidate, 'meta', '_journal.json'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`drizzle migrations folder not found above ${__dirname}`);
}

// Any fixed 64-bit key works; it only has to be the same in every process that migrates.
const MIGRATION_LOCK_KEY = 7_263_510_021;

/** Opens a Postgres server through postgres.js. */
export function openPostgres(url: string, maxConnections = 10): DatabaseHandle {
  const client = postgres(url, { max: maxConnections, onnotice: () => {} });
  const db = drizzlePostgres(client, { schema }) as unknown as Database;
  return {
    db,
    kind: 'postgres',
    async migrate() {
      // One connection holds an advisory lock, so workers started together migrate one at a time.
      const migrator = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await migrator`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
        await migratePostgres(drizzlePostgres(migrator), { migrationsFolder: migrationsFolder() });
      } finally {
        await migrator.end();
      }
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

/** Opens the embedded PGlite database stored in `dataDir`, or an in-memory one when omitted. */
export async function openPglite(dataDir?: string): Promise<DatabaseHandle> {
  if (dataDir) fs.mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir);
  const db = drizzlePglite(pglite, { schema }) as unknown as Database;
  return {
    db,
    kind: 'pglite',
    pglite,
    async migrate() {
      await migratePglite(drizzlePglite(pglite), { migrationsFolder: migrationsFolder() });
    },
    async close() {
      await pglite.close();
    },
  };
}

/** Checks that the database answers a query. */
export async function ping(db: Database): Promise<void> {
  await db.execute(sql`select 1`);
}
