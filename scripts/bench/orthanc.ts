import fs from 'node:fs/promises';
import path from 'node:path';
import { type ChildHandle, freePort, pollUntil, run, startChild } from './processes';

const ORTHANC = process.env.ORTHANC_PATH ?? '/usr/sbin/Orthanc';
const AE_TITLE = 'ORTHANC';

// DCMTK, in storescu and in Orthanc's DICOM server, reads TCP_NODELAY from the environment; 1
// disables Nagle's algorithm on the association's socket.
const DICOM_ENV = { ...process.env, TCP_NODELAY: '1' };

export interface OrthancServer {
  dicomPort: number;
  httpPort: number;
  handle: ChildHandle;
  countInstances(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts a private Orthanc with its index and storage under `dir`. Any caller may store
 * (DicomAlwaysAllowStore), and Nagle's algorithm is off on the HTTP server (TcpNoDelay) and on the
 * DICOM sockets (TCP_NODELAY in DICOM_ENV). Every stored file is flushed (SyncStorageArea, the
 * default since Orthanc 1.7.4), so a stored instance is as durable as one the product imports.
 * NOTE: Orthanc 1.10 has no option to bind to one address, so its ports listen on every interface
 * while it runs; RemoteAccessAllowed=false rejects HTTP requests from other hosts.
 */
export async function startOrthanc(dir: string): Promise<OrthancServer> {
  const storage = path.join(dir, 'storage');
  await fs.mkdir(storage, { recursive: true });
  const dicomPort = await freePort();
  const httpPort = await freePort();
  const config = {
    Name: 'dicom-import-bench',
    StorageDirectory: storage,
    IndexDirectory: storage,
    StorageCompression: false,
    Plugins: [],
    HttpServerEnabled: true,
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    DicomServerEnabled: true,
    DicomAet: AE_TITLE,
    DicomPort: dicomPort,
    DicomCheckCalledAet: false,
    DicomAlwaysAllowStore: true,
    TcpNoDelay: true,
    SyncStorageArea: true,
  };
  const configFile = path.join(dir, 'orthanc.json');
  await fs.writeFile(configFile, JSON.stringify(config, null, 2));
  const handle = startChild('Orthanc', ORTHANC, [configFile], DICOM_ENV);
  const base = `http://127.0.0.1:${httpPort}`;

  async function countInstances(): Promise<number> {
    const response = await fetch(`${base}/statistics`);
    if (!response.ok) throw new Error(`Orthanc ${base}/statistics returned ${response.status}`);
    const body = (await response.json()) as { CountInstances: number };
    return body.CountInstances;
  }

  await pollUntil(
    `Orthanc on 127.0.0.1:${httpPort}`,
    async () => {
      if (handle.child.exitCode !== null) {
        throw new Error(`Orthanc exited with code ${handle.child.exitCode}:\n${handle.output()}`);
      }
      return countInstances().catch(() => undefined);
    },
    30_000,
    200,
  );
  return { dicomPort, httpPort, handle, countInstances, stop: () => handle.stop() };
}

/** Sends every file under `folder` in one association with dcmtk's storescu. */
export function storeFolder(server: OrthancServer, folder: string): void {
  const args = ['+sd', '+r', '-aec', AE_TITLE, '127.0.0.1', String(server.dicomPort), folder];
  run('storescu', args, { env: DICOM_ENV });
}
