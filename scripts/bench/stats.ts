import os from 'node:os';

/** One timed repetition of a measure. */
export interface Sample {
  seconds: number;
  /** One-minute load average of the machine when the repetition ended. */
  load1: number;
}

/** The repetitions of one measure over the same number of files and bytes. */
export interface Measure {
  name: string;
  files: number;
  bytes: number;
  samples: Sample[];
}

export interface Summary {
  name: string;
  reps: number;
  medianSeconds: number;
  minSeconds: number;
  maxSeconds: number;
  /** (max - min) / median of the repetition times, in percent. */
  spreadPercent: number;
  filesPerSecond: number;
  megabytesPerSecond: number;
  loadAverages: number[];
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? upper) + upper) / 2;
}

/** Times `task` and records the load average at its end. */
export async function timed(task: () => Promise<void>): Promise<Sample> {
  const started = process.hrtime.bigint();
  await task();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, load1: os.loadavg()[0] ?? 0 };
}

/** Rates use the median time; MB means 10^6 bytes. */
export function summarize(measure: Measure): Summary {
  const times = measure.samples.map((sample) => sample.seconds);
  const medianSeconds = median(times);
  const minSeconds = Math.min(...times);
  const maxSeconds = Math.max(...times);
  return {
    name: measure.name,
    reps: times.length,
    medianSeconds,
    minSeconds,
    maxSeconds,
    spreadPercent: ((maxSeconds - minSeconds) / medianSeconds) * 100,
    filesPerSecond: measure.files / medianSeconds,
    megabytesPerSecond: measure.bytes / 1e6 / medianSeconds,
    loadAverages: measure.samples.map((sample) => sample.load1),
  };
}
