// Samples the memory of a `dicom-import worker` process every 200 ms into
// $MEMORY_SAMPLES_DIR/worker-<pid>.tsv, in MiB. Preload it into the benchmark's worker with
//
//   MEMORY_SAMPLES_DIR=/tmp/samples NODE_OPTIONS="--require $PWD/scripts/bench/memory-sampler.cjs" \
//     npm run bench -- --json --only product --reps 1 --skip-build
//
// Other processes that inherit NODE_OPTIONS (the benchmark, the watcher) are left alone. The
// columns are the seconds since start, VmRSS, VmHWM, the V8 heap's total and used size, external
// and ArrayBuffer memory, and the sizes of V8's new, old and large-object spaces. The last three,
// updated once a second, are the resident memory of glibc's main heap (`[heap]`), of the other
// anonymous mappings and of mapped files.
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const { isMainThread } = require('node:worker_threads');

const INTERVAL_MS = 200;
const SMAPS_EVERY = 5;

const isWorker =
  process.argv.some((arg) => /main\.[jt]s$/.test(arg)) && process.argv.includes('worker');
const dir = process.env.MEMORY_SAMPLES_DIR;

function statusMb(status, field) {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)[1]) / 1024;
}

/** Sums the Rss of /proc/self/smaps over the main heap, other anonymous mappings and files. */
function smapsMb() {
  const totals = { brk: 0, anonymous: 0, file: 0 };
  let kind = 'anonymous';
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (mapping) {
      const name = mapping[1];
      kind = name === '[heap]' ? 'brk' : name.startsWith('/') ? 'file' : 'anonymous';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) totals[kind] += Number(rss[1]) / 1024;
  }
  return [totals.brk, totals.anonymous, totals.file];
}

if (isMainThread && isWorker && dir) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `worker-${process.pid}.tsv`);
  const columns = ['seconds', 'rss', 'hwm', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers',
    'newSpace', 'oldSpace', 'largeObjectSpace', 'brk', 'anonymous', 'file'];
  fs.writeFileSync(file, `${columns.join('\t')}\n`);
  const started = Date.now();
  let tick = 0;
  let mappings = ['', '', ''];
  setInterval(() => {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const usage = process.memoryUsage();
    const spaces = Object.fromEntries(
      v8.getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size]),
    );
    if (tick % SMAPS_EVERY === 0) mappings = smapsMb().map((mb) => mb.toFixed(1));
    tick += 1;
    const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);
    const row = [
      ((Date.now() - started) / 1000).toFixed(1),
      statusMb(status, 'VmRSS').toFixed(1),
      statusMb(status, 'VmHWM').toFixed(1),
      mb(usage.heapTotal),
      mb(usage.heapUsed),
      mb(usage.external),
      mb(usage.arrayBuffers),
      mb(spaces.new_space),
      mb(spaces.old_space),
      mb(spaces.large_object_space),
      ...mappings,
    ];
    fs.appendFileSync(file, `${row.join('\t')}\n`);
  }, INTERVAL_MS).unref();
}
