import type { Config } from '../src/config';
import type { Database } from '../src/db/client';

/** What every activity needs, created once per worker process. */
export interface ActivityDeps {
  db: Database;
  config: Config;
}
