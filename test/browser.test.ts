import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { type BrowserContext, chromium } from 'playwright-core';
import { type DevServer, startDevServer } from '../src/temporal/dev-server';
import { startImport } from '../src/temporal/client';
import { DEV_SERVER_SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';
import { createWorker } from '../src/temporal/worker';
import { type TestDatabase, createTestDatabase } from './helpers/db';
import { freePort } from './helpers/cli';
import { copyCorpusFolder, createTestDirs, type TestDirs } from './helpers/fixtures';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '../test-artifacts');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let dirs: TestDirs;
let server: DevServer;
let database: TestDatabase;
let nativeConnection: NativeConnection;
let connection: Connection;
let worker: Worker;
let running: Promise<void>;

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  dirs = createTestDirs();
  server = await startDevServer({
    stateDir: dirs.config.stateDir,
    port: await freePort(),
    uiPort: await freePort(),
    namespace: 'default',
    searchAttributes: DEV_SERVER_SEARCH_ATTRIBUTES,
    log: () => {},
  });
  database = await createTestDatabase('pglite');
  nativeConnection = await NativeConnection.connect({ address: server.address });
  worker = await createWorker({ config: dirs.config, db: database.handle.db, connection: nativeConnection });
  running = worker.run();
  connection = await Connection.connect({ address: server.address });
});

after(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await nativeConnection?.close();
  await connection?.close();
  await database?.dispose();
  await server?.stop();
  dirs?.cleanup();
});

async function importStudy(client: Client, batchName: string, study: string): Promise<string> {
  const folder = path.join(dirs.config.dataDir, batchName);
  copyCorpusFolder(study, folder);
  const started = await startImport(client, dirs.config, batchName, folder);
  await client.workflow.getHandle(started.workflowId).result();
  return started.workflowId;
}

/** Waits until the UI's port serves pages, since the UI starts after the frontend. */
async function waitForUi(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(url).then((response) => response.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`Temporal UI at ${url} did not respond within 60 s`);
    await sleep(500);
  }
}

test('UI filter finds batch', { timeout: 240_000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: install the chromium package`);
  const client = new Client({ connection });
  const workflowId = await importStudy(client, 'ALPHA-UI', 'studies/TINY_ALPHA');
  const otherId = await importStudy(client, 'OTHER-UI', 'studies/77654033');
  await waitForUi(server.uiUrl);

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dicom-import-chromium-'));
  let browser: BrowserContext | undefined;
  try {
    // A persistent context is how Playwright takes a fresh --user-data-dir.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
    });
    const page = await browser.newPage();
    const query = encodeURIComponent('DicomBatchName = "ALPHA-UI"');
    await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${query}`);

    const row = page.getByText(workflowId, { exact: true }).first();
    await row.waitFor({ timeout: 60_000 });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'temporal-ui-batch-filter.png'), fullPage: true });

    assert.equal(await row.isVisible(), true, 'filtered list shows the batch');
    assert.equal(await page.getByText(otherId, { exact: true }).count(), 0, 'other batch filtered out');
  } finally {
    await browser?.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
