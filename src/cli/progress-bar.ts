import type { ImportProgress } from '../../workflows/types';

const BAR_WIDTH = 30;

/** Files per second between two observations of the progress, or undefined before the second. */
export class RateMeter {
  private first: { at: number; files: number } | undefined;

  /** Records `files` done at time `at` (ms) and returns the mean rate since the first record. */
  update(files: number, at: number): number | undefined {
    if (!this.first || files < this.first.files) this.first = { at, files };
    const seconds = (at - this.first.at) / 1000;
    return seconds > 0 ? (files - this.first.files) / seconds : undefined;
  }
}

function rateText(rate: number | undefined): string {
  return rate === undefined ? '- files/s' : `${rate.toFixed(1)} files/s`;
}

/** Formats one progress line for pipes: phase, files done of total, rate, warnings, failures. */
export function formatProgressLine(progress: ImportProgress, rate: number | undefined): string {
  const failed = progress.failed > 0 ? `, ${progress.failed} failed` : '';
  return (
    `${progress.phase}: ${progress.filesDone}/${progress.fileCount} files, ${rateText(rate)}, ` +
    `${progress.warningCount} warnings${failed}`
  );
}

/** Formats the terminal bar: `[#####-----] 50/100 files  12.0 files/s  2 warnings  importing`. */
export function formatProgressBar(progress: ImportProgress, rate: number | undefined): string {
  const fraction = progress.fileCount > 0 ? Math.min(1, progress.filesDone / progress.fileCount) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const failed = progress.failed > 0 ? `  ${progress.failed} failed` : '';
  return (
    `${bar} ${progress.filesDone}/${progress.fileCount} files  ${rateText(rate)}  ` +
    `${progress.warningCount} warnings${failed}  ${progress.phase}`
  );
}

export interface ProgressPrinter {
  show(progress: ImportProgress): void;
  /** Ends the bar's line so later output starts on a fresh one. */
  finish(): void;
}

/**
 * Prints progress to `stream`: a bar redrawn in place on a terminal, otherwise one plain line
 * whenever the phase or a count changes.
 */
export function progressPrinter(
  stream: NodeJS.WriteStream,
  now: () => number = Date.now,
): ProgressPrinter {
  const meter = new RateMeter();
  let lastKey = '';
  let drawn = false;
  return {
    show(progress) {
      const rate = meter.update(progress.filesDone, now());
      if (stream.isTTY) {
        stream.write(`\r\x1b[2K${formatProgressBar(progress, rate)}`);
        drawn = true;
        return;
      }
      const key = `${progress.phase}/${progress.filesDone}/${progress.warningCount}/${progress.failed}`;
      if (key !== lastKey) stream.write(`${formatProgressLine(progress, rate)}\n`);
      lastKey = key;
    },
    finish() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
