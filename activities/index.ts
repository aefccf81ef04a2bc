import { batchActivities } from './batch';
import { deidentifyActivities } from './deidentify';
import type { ActivityDeps } from './deps';
import { finalizeSourceActivities } from './finalize-source';
import { importFilesActivities } from './import-files';
import { listFilesActivities } from './list-files';
import { opsActivities } from './ops';

export type { ActivityDeps } from './deps';

/** Creates every activity of the worker, bound to one database handle and configuration. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...batchActivities(deps),
    ...listFilesActivities(deps),
    ...importFilesActivities(deps),
    ...deidentifyActivities(deps),
    ...finalizeSourceActivities(deps),
    ...opsActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
