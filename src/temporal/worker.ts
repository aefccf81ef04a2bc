import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { Config } from '../config';
import type { Database } from '../db/client';

let bundle: Promise<WorkflowBundle> | undefined;

/** Bundles the workflow code once per process; every worker of the process shares the bundle. */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
  return bundle;
}

export interface WorkerOptions {
  config: Config;
  db: Database;
  /** An existing connection; when omitted, one is opened to TEMPORAL_ADDRESS. */
  connection?: NativeConnection;
  taskQueue?: string;
  namespace?: string;
}

/** Creates a worker that runs the import and deidentify workflows and all activities. */
export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const connection =
    options.connection ?? (await NativeConnection.connect({ address: options.config.temporalAddress }));
  return Worker.create({
    connection,
    namespace: options.namespace ?? options.config.temporalNamespace,
    taskQueue: options.taskQueue ?? options.config.taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ db: options.db, config: options.config }),
    maxConcurrentActivityTaskExecutions: options.config.workerMaxActivities,
    shutdownGraceTime: '10s',
  });
}
