import type { Context as ActivityContext } from '@temporalio/activity';
import {
  type ActivityInboundCallsInterceptor,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import { createActivities } from '../../activities';
import { redactQueryErrors } from '../importer/query-errors';
import { sweepStorage } from '../storage/temp-files';
import type { Config } from '../config';
import type { Database } from '../db/client';
import { registerSearchAttributes } from './register-search-attributes';
import { bundleAtStart, findPrebuiltBundle } from './workflow-bundle';

let bundle: Promise<WorkflowBundleOption> | undefined;

/**
 * Returns the workflow code, once per process and shared by its workers. That is the bundle which
 * `npm run build` wrote next to the compiled code while it matches the files it was made from,
 * else a bundle made now. Bundling with webpack in the worker raised its resident memory at start
 * by 55 to 75 MB, which stayed, so the build does it ahead of time.
 */
export function workflowBundle(): Promise<WorkflowBundleOption> {
  bundle ??= (async (): Promise<WorkflowBundleOption> => {
    const prebuilt = findPrebuiltBundle();
    if (prebuilt.status === 'current') return { codePath: prebuilt.codePath };
    if (prebuilt.status === 'stale') {
      Runtime.instance().logger.warn('prebuilt workflow bundle is out of date, bundling at start', {
        reason: prebuilt.reason,
      });
    }
    return bundleAtStart();
  })();
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

/** Logs each repeated attempt of an activity; the SDK itself logs failed attempts at WARN. */
function logRetries(context: ActivityContext): { inbound: ActivityInboundCallsInterceptor } {
  return {
    inbound: {
      async execute(input, next) {
        const { attempt, activityType } = context.info;
        if (attempt > 1) context.log.info('activity retry', { activityType, attempt });
        return next(input);
      },
    },
  };
}

/**
 * Creates a worker that runs the import and deidentify workflows and all activities. Adds the
 * import workflow's search attributes to the namespace first, when they are missing.
 */
export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const connection =
    options.connection ?? (await NativeConnection.connect({ address: options.config.temporalAddress }));
  const namespace = options.namespace ?? options.config.temporalNamespace;
  const registered = await registerSearchAttributes(connection.operatorService, namespace);
  if (registered.added.length > 0) {
    Runtime.instance().logger.info('search attributes added', { namespace, added: registered.added });
  }

  // Temporary files of writers that died (a killed worker) are removed before new work starts.
  const swept = await sweepStorage(options.config);
  if (swept.length > 0) {
    Runtime.instance().logger.info('stale temporary files removed', { files: swept.length });
  }

  return Worker.create({
    connection,
    namespace,
    taskQueue: options.taskQueue ?? options.config.taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ db: options.db, config: options.config }),
    // Drizzle's query errors list the query parameters, header values included: never let them
    // reach a workflow history or a log.
    interceptors: { activity: [logRetries, redactQueryErrors] },
    maxConcurrentActivityTaskExecutions: options.config.workerMaxActivities,
    shutdownGraceTime: '10s',
  });
}
