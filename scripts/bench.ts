// Benchmark of the import pipeline against the disk's copy limit and Orthanc: `npm run bench -- --help`.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { USAGE, parseBenchArgs } from './bench/args';
import { generateFolder, verifyWithDcmdump } from './bench/generate';
import {
  type ProductResult,
  measureCopy,
  measureDirect,
  measureOrthanc,
  measureProduct,
  progress,
} from './bench/measures';
import { run } from './bench/processes';
import { type BenchReport, formatReport, ratesOf } from './bench/report';
import { type Measure, summarize } from './bench/stats';

const ROOT = path.resolve(__dirname, '..');
const KNOBS = ['IMPORT_CHUNK_SIZE', 'IMPORT_CONCURRENCY', 'WORKER_MAX_ACTIVITIES', 'FILE_MAX_ATTEMPTS'];

/** Builds dist/ with npm run build; the TypeScript sources run through tsx when the build fails. */
function chooseRuntime(build: boolean): 'dist' | 'tsx' {
  if (!build) return 'dist';
  try {
    run('npm', ['run', 'build'], { cwd: ROOT });
    return 'dist';
  } catch (error) {
    progress(`npm run build failed, running the sources with tsx: ${(error as Error).message}`);
    return 'tsx';
  }
}

function knobsOf(env: NodeJS.ProcessEnv): Record<string, string> {
  const knobs: Record<string, string> = {};
  for (const knob of KNOBS) {
    const value = env[knob];
    if (value) knobs[knob] = value;
  }
  return knobs;
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parseBenchArgs>;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
  const runtime = options.only.includes('product') ? chooseRuntime(options.build) : 'dist';
  const dir = await fs.mkdtemp(path.join(options.dir ?? os.tmpdir(), 'dicom-import-bench-'));
  progress(`working in ${dir}`);

  const measures: Measure[] = [];
  let product: ProductResult | undefined;
  try {
    const source = await generateFolder({ ...options, folder: path.join(dir, 'source') });
    const sampleUid = verifyWithDcmdump(path.join(source.folder, source.sample));
    progress(`generated ${source.files} files; dcmdump reads ${source.sample} (${sampleUid})`);
    run('sync', []);

    if (options.only.includes('cp')) measures.push(await measureCopy(options, source, dir));
    await fs.rm(source.folder, { recursive: true, force: true });
    if (options.only.includes('orthanc')) measures.push(await measureOrthanc(options, dir));
    if (options.only.includes('direct')) measures.push(await measureDirect(options, dir));
    if (options.only.includes('product')) {
      product = await measureProduct(options, dir, runtime);
      measures.push(product.importMeasure, product.deidMeasure);
    }
  } finally {
    if (!options.keep) await fs.rm(dir, { recursive: true, force: true });
  }

  const summaries = measures.map(summarize);
  const executions = product?.executions ?? [];
  const report: BenchReport = {
    startedAt,
    files: options.files,
    bytes: measures[0]?.bytes ?? 0,
    series: options.series,
    studies: options.studies,
    reps: options.reps,
    runtime,
    knobs: knobsOf(process.env),
    loadAverage: { start: loadAtStart, end: os.loadavg() },
    ...ratesOf(summaries),
    workerPeakRssMb: product ? product.workerPeakRssMb : null,
    workerStartRssMb: product ? product.workerStartRssMb : null,
    workerCpuMsPerFile: product ? product.workerCpuMsPerFile : null,
    maxHistoryEvents: product ? Math.max(...executions.map((e) => e.events)) : null,
    maxPayloadBytes: product ? Math.max(...executions.map((e) => e.maxPayloadBytes)) : null,
    measures: summaries,
    executions,
  };
  const output = options.json ? JSON.stringify(report, null, 2) : formatReport(report);
  process.stdout.write(`${output}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
