import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import { filterBatches, parseDateOption } from '../src/cli/batch-filters';
import { formatProgressBar, progressPrinter } from '../src/cli/progress-bar';
import { reportRow } from '../src/cli/report';
import type { BatchRow } from '../src/db/batches';
import { loadConfig } from '../src/config';
import { temporalUiUrl, workflowUiLink } from '../src/temporal/client';
import { batchNameOf, sdkLogger } from '../src/temporal/runtime-logger';
import type { ImportProgress } from '../workflows/types';

function progress(filesDone: number, overrides: Partial<ImportProgress> = {}): ImportProgress {
  return {
    phase: 'importing',
    batchName: 'B',
    fileCount: 100,
    filesDone,
    imported: filesDone,
    duplicates: 0,
    conflicts: 0,
    skipped: 0,
    failed: 0,
    warningCount: 2,
    failedFiles: [],
    ...overrides,
  };
}

/** Creates a stream that keeps what is written and poses as a terminal when `isTTY`. */
function captureStream(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY });
  return { stream, chunks };
}

describe('progress bar', () => {
  test('bar shows counts and rate', () => {
    const line = formatProgressBar(progress(50), 12.5);
    assert.match(line, /^\[#{15}-{15}\] 50\/100 files {2}12\.5 files\/s {2}2 warnings {2}importing$/);
  });

  test('terminal redraws in place', () => {
    let now = 0;
    const { stream, chunks } = captureStream(true);
    const printer = progressPrinter(stream, () => now);
    printer.show(progress(10));
    now = 2000;
    printer.show(progress(30));
    printer.finish();
    assert.equal(chunks.length, 3);
    assert.ok(chunks[1]?.startsWith('\r\x1b[2K['), 'line redrawn');
    assert.match(chunks[1] ?? '', /30\/100 files {2}10\.0 files\/s/);
    assert.equal(chunks[2], '\n');
  });

  test('pipe gets plain lines on change', () => {
    let now = 0;
    const { stream, chunks } = captureStream(false);
    const printer = progressPrinter(stream, () => now);
    printer.show(progress(10));
    now = 1000;
    printer.show(progress(10));
    now = 2000;
    printer.show(progress(20, { failed: 1 }));
    printer.finish();
    assert.deepEqual(chunks, [
      'importing: 10/100 files, - files/s, 2 warnings\n',
      'importing: 20/100 files, 5.0 files/s, 2 warnings, 1 failed\n',
    ]);
  });
});

const row = (name: string, startedAt: string | null, overrides: Partial<BatchRow> = {}): BatchRow =>
  ({
    name,
    status: 'DONE',
    imageCount: 7,
    seriesCount: 4,
    byteCount: 1234,
    warningCount: 1,
    startedAt: startedAt ? new Date(startedAt) : null,
    finishedAt: startedAt ? new Date(Date.parse(startedAt) + 1500) : null,
    durationMs: startedAt ? 1500 : null,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    ...overrides,
  }) as BatchRow;

describe('batch filters', () => {
  const rows = [
    row('A', '2026-03-01T10:00:00Z'),
    row('B', '2026-03-02T10:00:00Z', { status: 'ERROR' }),
    row('C', null),
  ];

  test('status filter', () => {
    assert.deepEqual(filterBatches(rows, { status: 'ERROR' }).map((r) => r.name), ['B']);
  });

  test('date range filter', () => {
    const since = parseDateOption('2026-03-01');
    const until = parseDateOption('2026-03-02');
    assert.deepEqual(filterBatches(rows, { since, until }).map((r) => r.name), ['A']);
  });

  test('unstarted batch by creation time', () => {
    const until = parseDateOption('2026-01-02T00:00:00Z');
    assert.deepEqual(filterBatches(rows, { until }).map((r) => r.name), ['C']);
  });

  test('invalid date rejected', () => {
    assert.throws(() => parseDateOption('yesterday'), /yesterday is not a date/);
  });
});

describe('report row', () => {
  test('tsv columns', () => {
    assert.equal(
      reportRow(row('A', '2026-03-01T10:00:00Z')),
      'A\tDONE\t7\t4\t1234\t2026-03-01T10:00:00.000Z\t2026-03-01T10:00:01.500Z\t1.500\t1',
    );
  });

  test('tab in name replaced', () => {
    assert.match(reportRow(row('a\tb\nc', null)), /^a b c\tDONE\t7\t4\t1234\t\t\t\t1$/);
  });
});

describe('ui link', () => {
  test('default from ui port', () => {
    const config = loadConfig({ TEMPORAL_UI_PORT: '9000' });
    assert.equal(temporalUiUrl(config), 'http://127.0.0.1:9000');
  });

  test('workflow link encoded', () => {
    const config = loadConfig({ TEMPORAL_UI_URL: 'http://127.0.0.1:8080/', TEMPORAL_NAMESPACE: 'ops' });
    assert.equal(
      workflowUiLink(config, 'import:A%20B'),
      'http://127.0.0.1:8080/namespaces/ops/workflows/import%3AA%2520B',
    );
  });
});

describe('runtime logger', () => {
  test('batch name of child ids', () => {
    assert.equal(batchNameOf('import:A%20B/deidentify/3'), 'A B');
    assert.equal(batchNameOf('other'), undefined);
  });

  test('entries forwarded with batch name', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = sdkLogger(pino({ level: 'info' }, sink));
    logger.warn('Activity failed', {
      workflowId: 'import:X',
      attempt: 2,
      error: new Error('boom'),
    });
    logger.debug('hidden', {});
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    assert.equal(entry.msg, 'Activity failed');
    assert.equal(entry.level, 40);
    assert.equal(entry.batchName, 'X');
    assert.equal(entry.attempt, 2);
    assert.deepEqual(entry.error, { type: 'Error', message: 'boom' });
  });
});
