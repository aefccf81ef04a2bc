import type { ExecutionHistory } from './history';
import type { Summary } from './stats';

export interface BenchReport {
  startedAt: string;
  files: number;
  bytes: number;
  series: number;
  studies: number;
  reps: number;
  runtime: 'dist' | 'tsx';
  /** Import knobs the worker and watcher ran with; unset ones are the product defaults. */
  knobs: Record<string, string>;
  loadAverage: { start: number[]; end: number[] };
  importFilesPerSecond: number | null;
  deidFilesPerSecond: number | null;
  cpSyncFilesPerSecond: number | null;
  orthancFilesPerSecond: number | null;
  directFilesPerSecond: number | null;
  ratios: Record<string, number | null>;
  workerPeakRssMb: number | null;
  workerStartRssMb: number | null;
  /** Median CPU time of the worker process per file, until closed and until DONE, in ms. */
  workerCpuMsPerFile: { import: number; deid: number } | null;
  maxHistoryEvents: number | null;
  maxPayloadBytes: number | null;
  measures: Summary[];
  executions: ExecutionHistory[];
}

function ratio(value: number | null, base: number | null): number | null {
  return value === null || base === null ? null : value / base;
}

/** Rates, in files per second, of the measures that ran; null for the others. */
export function ratesOf(measures: Summary[]) {
  const rate = (name: string) => measures.find((m) => m.name === name)?.filesPerSecond ?? null;
  const rates = {
    importFilesPerSecond: rate('import'),
    deidFilesPerSecond: rate('import+deid'),
    cpSyncFilesPerSecond: rate('cp+sync'),
    orthancFilesPerSecond: rate('orthanc'),
    directFilesPerSecond: rate('direct'),
  };
  const ratios = {
    importToCpSync: ratio(rates.importFilesPerSecond, rates.cpSyncFilesPerSecond),
    importToOrthanc: ratio(rates.importFilesPerSecond, rates.orthancFilesPerSecond),
    deidToCpSync: ratio(rates.deidFilesPerSecond, rates.cpSyncFilesPerSecond),
    deidToOrthanc: ratio(rates.deidFilesPerSecond, rates.orthancFilesPerSecond),
    directToCpSync: ratio(rates.directFilesPerSecond, rates.cpSyncFilesPerSecond),
    importToDirect: ratio(rates.importFilesPerSecond, rates.directFilesPerSecond),
  };
  return { ...rates, ratios };
}

const fixed = (value: number | null | undefined, digits: number) =>
  value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);

/** Formats the report as a table followed by the worker's figures and every execution's history. */
export function formatReport(report: BenchReport): string {
  const cp = report.cpSyncFilesPerSecond;
  const orthanc = report.orthancFilesPerSecond;
  const lines = [
    `${report.files} files, ${(report.bytes / 1e6).toFixed(0)} MB, ${report.series} series, ` +
      `${report.studies} studies, ${report.reps} reps, ${report.runtime} runtime`,
    `knobs: ${Object.entries(report.knobs).map(([k, v]) => `${k}=${v}`).join(' ') || 'defaults'}`,
    `load average at start ${report.loadAverage.start.map((l) => l.toFixed(2)).join(' ')}, ` +
      `at end ${report.loadAverage.end.map((l) => l.toFixed(2)).join(' ')}`,
    '',
    'measure       median s  min s    max s    spread%  files/s  MB/s     x cp+sync  x Orthanc  load',
  ];
  for (const m of report.measures) {
    const cells = [
      m.name.padEnd(12),
      fixed(m.medianSeconds, 2).padStart(8),
      fixed(m.minSeconds, 2).padStart(8),
      fixed(m.maxSeconds, 2).padStart(8),
      fixed(m.spreadPercent, 0).padStart(8),
      fixed(m.filesPerSecond, 0).padStart(8),
      fixed(m.megabytesPerSecond, 1).padStart(8),
      fixed(ratio(m.filesPerSecond, cp), 2).padStart(10),
      fixed(ratio(m.filesPerSecond, orthanc), 2).padStart(10),
      m.loadAverages.map((load) => load.toFixed(1)).join('/'),
    ];
    lines.push(cells.join(' '));
  }
  lines.push(
    '',
    `worker peak RSS (VmHWM): ${fixed(report.workerPeakRssMb, 0)} MB, ` +
      `${fixed(report.workerStartRssMb, 0)} MB once started`,
    `worker CPU per file: ${fixed(report.workerCpuMsPerFile?.import, 1)} ms until closed, ` +
      `${fixed(report.workerCpuMsPerFile?.deid, 1)} ms until DONE`,
    `largest Temporal payload: ${report.maxPayloadBytes ?? '-'} bytes`,
    `largest history: ${report.maxHistoryEvents ?? '-'} events`,
  );
  for (const execution of report.executions) {
    lines.push(
      `  ${execution.workflowId} (${execution.type}): ${execution.events} events, ` +
        `${execution.seconds.toFixed(1)} s, largest payload ${execution.maxPayloadBytes} bytes ` +
        `in ${execution.maxPayloadEvent || '-'}`,
    );
    for (const [type, times] of Object.entries(execution.activities)) {
      lines.push(
        `    ${type}: ${times.count} run(s), ${times.totalSeconds.toFixed(1)} s in all, ` +
          `longest ${times.maxSeconds.toFixed(1)} s`,
      );
    }
  }
  return lines.join('\n');
}
