import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { startImport } from '../temporal/client';
import { type Watcher, startWatcher } from '../watcher/watcher';

/** Starts the watcher of DATA_DIR, which starts one import workflow per finished folder. */
export function watchDataDir(config: Config, client: Client, log: Logger): Watcher {
  return startWatcher({
    dataDir: config.dataDir,
    settleMs: config.settleMs,
    rescanMs: config.rescanMs,
    log,
    async trigger(name, reason) {
      const result = await startImport(client, config, name, path.join(config.dataDir, name));
      const fields = { batchName: name, workflowId: result.workflowId, reason };
      if (result.started) log.info({ ...fields, runId: result.runId }, 'import started');
      else log.info(fields, 'import already running');
    },
  });
}
