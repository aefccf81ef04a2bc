import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BenchOptions } from './args';
import { loadConfig } from '../../src/config';
import { createBenchDatabase } from './database';
import { importFolderDirectly } from './direct';
import { type GeneratedFolder, SOURCE_IMAGE, generateFolder } from './generate';
import { type ExecutionHistory, collectHistories } from './history';
import { startOrthanc, storeFolder } from './orthanc';
import { readVmField, run } from './processes';
import { importThroughProduct, startProductStack } from './product';
import { type Measure, median, timed } from './stats';

/** Writes progress to stderr, so that stdout carries only the report. */
export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function emptyMeasure(name: string, options: BenchOptions, bytes: number): Measure {
  return { name, files: options.files, bytes, samples: [] };
}

/** Generates a new folder with its own UIDs and flushes it, outside the timed part. */
async function freshFolder(options: BenchOptions, folder: string): Promise<GeneratedFolder> {
  const generated = await generateFolder({ ...options, folder });
  run('sync', []);
  return generated;
}

/** Times `cp -r` of the folder, then `sync`, so the copy is on disk when the time stops. */
export async function measureCopy(options: BenchOptions, source: GeneratedFolder, dir: string) {
  const measure = emptyMeasure('cp+sync', options, source.bytes);
  const target = path.join(dir, 'cp-target');
  for (let rep = 1; rep <= options.reps; rep += 1) {
    await fs.rm(target, { recursive: true, force: true });
    run('sync', []);
    measure.samples.push(
      await timed(async () => {
        run('cp', ['-r', source.folder, target]);
        run('sync', []);
      }),
    );
    progress(`cp+sync rep ${rep}: ${measure.samples.at(-1)?.seconds.toFixed(2)} s`);
  }
  await fs.rm(target, { recursive: true, force: true });
  return measure;
}

/** Times dcmtk storescu of a new folder per repetition into a private Orthanc. */
export async function measureOrthanc(options: BenchOptions, dir: string) {
  const orthancDir = path.join(dir, 'orthanc');
  const server = await startOrthanc(orthancDir);
  const measure = emptyMeasure('orthanc', options, 0);
  try {
    for (let rep = 1; rep <= options.reps; rep += 1) {
      const folder = await freshFolder(options, path.join(dir, `orthanc-source-${rep}`));
      measure.bytes = folder.bytes;
      measure.samples.push(await timed(async () => storeFolder(server, folder.folder)));
      await fs.rm(folder.folder, { recursive: true, force: true });
      const stored = await server.countInstances();
      if (stored !== rep * options.files) {
        const expected = rep * options.files;
        throw new Error(`Orthanc stored ${stored} instances after rep ${rep}, expected ${expected}`);
      }
      progress(`orthanc rep ${rep}: ${measure.samples.at(-1)?.seconds.toFixed(2)} s`);
    }
  } finally {
    await server.stop();
    await fs.rm(orthancDir, { recursive: true, force: true });
  }
  return measure;
}

/** Times the product's per-file code in a plain loop on a fresh Postgres database, without Temporal. */
export async function measureDirect(options: BenchOptions, dir: string) {
  const database = await createBenchDatabase('direct');
  const mediaDir = path.join(dir, 'direct-media');
  const measure = emptyMeasure('direct', options, 0);
  // The worker's group size, so the loop stores images as the import activity does.
  const config = loadConfig();
  const groupLimits = { files: config.importGroupFiles, bytes: config.importGroupBytes };
  try {
    for (let rep = 1; rep <= options.reps; rep += 1) {
      const folder = await freshFolder(options, path.join(dir, `direct-source-${rep}`));
      measure.bytes = folder.bytes;
      measure.samples.push(
        await timed(() => importFolderDirectly(database.handle.db, mediaDir, folder.folder, groupLimits)),
      );
      await fs.rm(folder.folder, { recursive: true, force: true });
      progress(`direct rep ${rep}: ${measure.samples.at(-1)?.seconds.toFixed(2)} s`);
    }
  } finally {
    await database.drop();
    await fs.rm(mediaDir, { recursive: true, force: true });
  }
  return measure;
}

export interface ProductResult {
  importMeasure: Measure;
  deidMeasure: Measure;
  workerPeakRssMb: number;
  workerStartRssMb: number;
  /** Median CPU time of the worker process per file, until closed and until DONE, in ms. */
  workerCpuMsPerFile: { import: number; deid: number };
  executions: ExecutionHistory[];
}

/** Times the product end to end (watcher, Temporal, worker, Postgres), one new folder per repetition. */
export async function measureProduct(
  options: BenchOptions,
  dir: string,
  runtime: 'dist' | 'tsx',
): Promise<ProductResult> {
  const productDir = path.join(dir, 'product');
  const stack = await startProductStack({
    dir: productDir,
    runtime,
    cpuProfileDir: options.cpuProfileDir && path.resolve(options.cpuProfileDir),
    timeoutMs: options.timeoutMs,
  });
  const bytes = options.files * (await fs.stat(SOURCE_IMAGE)).size;
  const importMeasure = emptyMeasure('import', options, bytes);
  const deidMeasure = emptyMeasure('import+deid', options, bytes);
  const cpu = { import: [] as number[], deid: [] as number[] };
  try {
    for (let rep = 1; rep <= options.reps; rep += 1) {
      const name = `bench-${options.files}-rep${rep}`;
      const times = await importThroughProduct(stack, name, options, options.timeoutMs);
      const load1 = os.loadavg()[0] ?? 0;
      importMeasure.samples.push({ seconds: times.importSeconds, load1 });
      deidMeasure.samples.push({ seconds: times.deidSeconds, load1 });
      cpu.import.push((times.importCpuSeconds * 1000) / options.files);
      cpu.deid.push((times.deidCpuSeconds * 1000) / options.files);
      progress(
        `product rep ${rep}: imported ${times.importSeconds.toFixed(2)} s, ` +
          `DONE ${times.deidSeconds.toFixed(2)} s, ` +
          `workflow started ${times.startSeconds.toFixed(2)} s after the rename, ` +
          `worker CPU ${times.importCpuSeconds.toFixed(1)} s and ${times.deidCpuSeconds.toFixed(1)} s`,
      );
    }
    const workerPeakRssMb = readVmField(stack.worker.pid, 'VmHWM');
    const executions = await collectHistories(stack.client);
    const { workerStartRssMb } = stack;
    const workerCpuMsPerFile = { import: median(cpu.import), deid: median(cpu.deid) };
    return {
      importMeasure,
      deidMeasure,
      workerPeakRssMb,
      workerStartRssMb,
      workerCpuMsPerFile,
      executions,
    };
  } finally {
    await stack.stop();
    if (!options.keep) await fs.rm(productDir, { recursive: true, force: true });
  }
}
