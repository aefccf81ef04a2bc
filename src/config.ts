import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors';

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();

/**
 * Every setting, read from environment variables. Defaults suit a local run from the project folder;
 * the README's configuration table lists the same names.
 */
const schema = z.object({
  DATA_DIR: z.string().min(1).default('./data'),
  MEDIA_DIR: z.string().min(1).default('./media'),
  DEID_DIR: z.string().min(1).default('./deid'),
  STATE_DIR: z.string().min(1).default('./state'),
  DATABASE_URL: z.string().optional(),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('dicom-import'),
  TEMPORAL_UI_PORT: positiveInt.default(8233),
  TEMPORAL_UI_URL: z.string().optional(),
  SETTLE_SECONDS: z.coerce.number().nonnegative().default(10),
  RESCAN_SECONDS: z.coerce.number().positive().default(30),
  SOURCE_CLEANUP: z.enum(['remove', 'keep']).default('remove'),
  SKIPPED_FILES: z.enum(['remove', 'keep']).default('remove'),
  IMPORT_CHUNK_SIZE: positiveInt.default(100),
  IMPORT_CONCURRENCY: positiveInt.default(4),
  IMPORT_GROUP_FILES: positiveInt.default(32),
  IMPORT_GROUP_MB: z.coerce.number().positive().default(8),
  FILE_MAX_ATTEMPTS: positiveInt.default(5),
  WORKER_MAX_ACTIVITIES: positiveInt.default(8),
  TEMP_MAX_AGE_MINUTES: z.coerce.number().positive().default(60),
  DEID_SECRET: z.string().optional(),
  DEID_DATE_SHIFT_MAX_DAYS: nonNegativeInt.default(365),
  DEID_PROFILE_FILE: z.string().optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
});

export interface Config {
  dataDir: string;
  mediaDir: string;
  deidDir: string;
  stateDir: string;
  /** Unset means the embedded PGlite database under `stateDir`. */
  databaseUrl: string | undefined;
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  temporalUiPort: number;
  temporalUiUrl: string | undefined;
  settleMs: number;
  rescanMs: number;
  sourceCleanup: 'remove' | 'keep';
  skippedFiles: 'remove' | 'keep';
  importChunkSize: number;
  importConcurrency: number;
  /** New images stored in one transaction, at most; fewer when `importGroupBytes` is reached first. */
  importGroupFiles: number;
  /** File bytes that one import activity keeps in memory for a group, at most (the last file may pass it). */
  importGroupBytes: number;
  fileMaxAttempts: number;
  workerMaxActivities: number;
  /**
   * Age after which a temporary file in media or de-identified storage counts as abandoned, in ms;
   * longer than the longest activity run (30 minutes).
   */
  tempMaxAgeMs: number;
  deidSecret: string | undefined;
  dateShiftMaxDays: number;
  /** De-identification rules (JSON); unset means the shipped config/deid-profile.json. */
  deidProfileFile: string | undefined;
  logLevel: string;
  logFormat: 'auto' | 'pretty' | 'json';
}

/** Reads the configuration from `env`; throws ConfigError naming each invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const defined = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(defined);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const values = parsed.data;
  return {
    dataDir: path.resolve(values.DATA_DIR),
    mediaDir: path.resolve(values.MEDIA_DIR),
    deidDir: path.resolve(values.DEID_DIR),
    stateDir: path.resolve(values.STATE_DIR),
    databaseUrl: values.DATABASE_URL,
    temporalAddress: values.TEMPORAL_ADDRESS,
    temporalNamespace: values.TEMPORAL_NAMESPACE,
    taskQueue: values.TEMPORAL_TASK_QUEUE,
    temporalUiPort: values.TEMPORAL_UI_PORT,
    temporalUiUrl: values.TEMPORAL_UI_URL,
    settleMs: Math.round(values.SETTLE_SECONDS * 1000),
    rescanMs: Math.round(values.RESCAN_SECONDS * 1000),
    sourceCleanup: values.SOURCE_CLEANUP,
    skippedFiles: values.SKIPPED_FILES,
    importChunkSize: values.IMPORT_CHUNK_SIZE,
    importConcurrency: values.IMPORT_CONCURRENCY,
    importGroupFiles: values.IMPORT_GROUP_FILES,
    importGroupBytes: Math.round(values.IMPORT_GROUP_MB * 1024 ** 2),
    fileMaxAttempts: values.FILE_MAX_ATTEMPTS,
    workerMaxActivities: values.WORKER_MAX_ACTIVITIES,
    tempMaxAgeMs: Math.round(values.TEMP_MAX_AGE_MINUTES * 60_000),
    deidSecret: values.DEID_SECRET,
    dateShiftMaxDays: values.DEID_DATE_SHIFT_MAX_DAYS,
    deidProfileFile: values.DEID_PROFILE_FILE && path.resolve(values.DEID_PROFILE_FILE),
    logLevel: values.LOG_LEVEL,
    logFormat: values.LOG_FORMAT,
  };
}
