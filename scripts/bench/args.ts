import { parseArgs } from 'node:util';

export const MEASURES = ['cp', 'orthanc', 'direct', 'product'] as const;
export type MeasureName = (typeof MEASURES)[number];

export interface BenchOptions {
  files: number;
  series: number;
  studies: number;
  reps: number;
  json: boolean;
  build: boolean;
  only: MeasureName[];
  /** Parent of the temporary folder; the system's temporary folder when unset. */
  dir: string | undefined;
  keep: boolean;
  cpuProfileDir: string | undefined;
  timeoutMs: number;
}

export const USAGE = `usage: npm run bench -- [options]
  --files N         images in the generated folder (default 1000)
  --series S        series in the folder, one subfolder each (default 4)
  --studies N       studies the series are spread over (default 1)
  --reps R          repetitions of every measure (default 3)
  --only LIST       comma-separated measures: ${MEASURES.join(',')} (default all)
  --json            print one JSON object instead of the table
  --skip-build      run dist/ as it is instead of running npm run build first
  --dir DIR         parent folder of the temporary files (default the system temporary folder)
  --keep            keep the temporary files
  --cpu-prof DIR    write a V8 CPU profile of the worker process into DIR
  --timeout S       maximum wait for one batch, in seconds (default 3600)
Import knobs (IMPORT_CHUNK_SIZE, IMPORT_CONCURRENCY, WORKER_MAX_ACTIVITIES, ...) are read from the
environment and passed to the worker and the watcher.`;

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new Error(`--${name} ${value} is invalid: expected a positive integer`);
  }
  return parsed;
}

/** Parses the command line; throws an error that names the invalid option and value. */
export function parseBenchArgs(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      files: { type: 'string' },
      series: { type: 'string' },
      studies: { type: 'string' },
      reps: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'boolean', default: false },
      'skip-build': { type: 'boolean', default: false },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';

  const only = (values.only?.split(',') ?? [...MEASURES]).map((name) => name.trim());
  for (const name of only) {
    if (!(MEASURES as readonly string[]).includes(name)) {
      throw new Error(`--only ${name} is invalid: expected some of ${MEASURES.join(', ')}`);
    }
  }
  return {
    files: positiveInteger('files', values.files, 1000),
    series: positiveInteger('series', values.series, 4),
    studies: positiveInteger('studies', values.studies, 1),
    reps: positiveInteger('reps', values.reps, 3),
    json: values.json,
    build: !values['skip-build'],
    only: only as MeasureName[],
    dir: values.dir,
    keep: values.keep,
    cpuProfileDir: values['cpu-prof'],
    timeoutMs: positiveInteger('timeout', values.timeout, 3600) * 1000,
  };
}
