import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { type DatabaseHandle, openPostgres } from '../../src/db/client';

/** Admin connection used to create and drop the benchmark's own databases. */
export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  name: string;
  url: string;
  handle: DatabaseHandle;
  drop(): Promise<void>;
}

/** Creates and migrates a new database `dicom_import_bench_<purpose>_<random>` on the server. */
export async function createBenchDatabase(purpose: string): Promise<BenchDatabase> {
  const name = `dicom_import_bench_${purpose}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const handle = openPostgres(url.toString());
  await handle.migrate();
  return {
    name,
    url: url.toString(),
    handle,
    async drop() {
      await handle.close();
      const dropper = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
