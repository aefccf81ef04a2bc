import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Config } from '../config';
import { type DatabaseHandle, openPglite, openPostgres } from './client';
import { processAlive } from '../process-alive';

/** Written by `start` while it serves its embedded database on a loopback port. */
export interface EmbeddedServerInfo {
  pid: number;
  host: string;
  port: number;
}

export function pgliteDataDir(config: Config): string {
  return path.join(config.stateDir, 'pglite');
}

export function embeddedServerFile(config: Config): string {
  return path.join(config.stateDir, 'pglite-server.json');
}

function lockFile(config: Config): string {
  return path.join(config.stateDir, 'pglite.lock');
}


function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file} is unreadable: ${(error as Error).message}`);
  }
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Returns the embedded database server of a running `start`, if its port accepts connections. */
export async function runningEmbeddedServer(config: Config): Promise<EmbeddedServerInfo | undefined> {
  const info = readJson<EmbeddedServerInfo>(embeddedServerFile(config));
  if (!info || !processAlive(info.pid)) return undefined;
  return (await portOpen(info.host, info.port)) ? info : undefined;
}

/**
 * Takes the embedded database's lock for this process. PGlite has no lock of its own, and two
 * processes opening its files at once corrupt them.
 */
export function lockEmbedded(config: Config): () => void {
  fs.mkdirSync(config.stateDir, { recursive: true });
  const file = lockFile(config);
  const holder = readJson<{ pid: number }>(file);
  if (holder && holder.pid !== process.pid && processAlive(holder.pid)) {
    throw new Error(
      `the embedded database in ${pgliteDataDir(config)} is open in process ${holder.pid}; ` +
        'stop it, or set DATABASE_URL to use a Postgres server',
    );
  }
  fs.writeFileSync(file, JSON.stringify({ pid: process.pid }));
  return () => {
    const current = readJson<{ pid: number }>(file);
    if (current?.pid === process.pid) fs.rmSync(file, { force: true });
  };
}

/**
 * Opens the database a command should use. That is DATABASE_URL when set, else the embedded database
 * of a running `start` over its loopback port, else the embedded database's files under a lock.
 */
export async function openDatabaseForCommand(config: Config): Promise<DatabaseHandle> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl);
  const server = await runningEmbeddedServer(config);
  if (server) {
    return openPostgres(`postgres://postgres@${server.host}:${server.port}/postgres`, 1);
  }
  const unlock = lockEmbedded(config);
  try {
    const handle = await openPglite(pgliteDataDir(config));
    const close = handle.close;
    return {
      ...handle,
      async close() {
        try {
          await close();
        } finally {
          unlock();
        }
      },
    };
  } catch (error) {
    unlock();
    throw error;
  }
}
