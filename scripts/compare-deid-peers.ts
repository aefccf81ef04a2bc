// Compares this product's de-identification with Orthanc's /instances/{id}/anonymize and GDCM's
// gdcmanon on the importable corpus files, attribute class by attribute class, and measures the
// product's throughput on the CT template. Prints Markdown to stdout.
//
//   npx tsx scripts/compare-deid-peers.ts [--files N]
//
// Orthanc 1.10 cannot bind to one address, so the script re-runs itself in a private network
// namespace (unshare -n) where only the loopback interface exists; without unshare it stops.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { profileVr } from '../src/deid/actions';
import { deidentify, dropOwnValues, readSourceImage } from '../src/deid/deidentify';
import { loadDeidProfile } from '../src/deid/profile-config';
import { releaseVerified } from '../src/deid/release';
import { parseElementTree, type DicomElement } from '../src/dicom/element-tree';
import { readDicom } from '../src/dicom/read';
import { generateFolder } from './bench/generate';
import { freePort, pollUntil, startChild } from './bench/processes';

const ROOT = path.resolve(__dirname, '..');
const CORPUS = path.resolve(ROOT, '..', 'shared', 'dicom');
const NAMESPACE_FLAG = 'DEID_PEERS_IN_NETNS';

type Outcome = 'kept' | 'removed' | 'emptied' | 'replaced';
type Tool = 'dicom-import' | 'Orthanc' | 'gdcmanon';

/** Rows of the table: each class is a list of attributes, searched at every depth. */
const CLASSES: Array<[string, number[]]> = [
  ['PatientName', [0x00100010]],
  ['PatientID', [0x00100020]],
  ['PatientBirthDate', [0x00100030]],
  ['PatientSex, PatientAge', [0x00100040, 0x00101010]],
  ['AccessionNumber, StudyID', [0x00080050, 0x00200010]],
  ['Study, series, content dates', [0x00080020, 0x00080021, 0x00080023]],
  ['Study, series, content times', [0x00080030, 0x00080031, 0x00080033]],
  ['InstitutionName, InstitutionAddress', [0x00080080, 0x00080081]],
  ['Physician and operator names', [0x00080090, 0x00081050, 0x00081060, 0x00081070]],
  ['StationName, DeviceSerialNumber', [0x00081010, 0x00181000]],
  ['Study, series descriptions, ProtocolName', [0x00081030, 0x0008103e, 0x00181030]],
  ['Study, series, SOP instance UIDs', [0x0020000d, 0x0020000e, 0x00080018]],
  ['FrameOfReferenceUID', [0x00200052]],
  ['ReferencedSOPInstanceUID (in sequences)', [0x00081155]],
  ['SR TextValue (in ContentSequence)', [0x0040a160]],
  ['Overlay data (6000,3000)', [0x60003000]],
  ['Manufacturer, ManufacturerModelName', [0x00080070, 0x00081090]],
];

function valuesAtEveryDepth(elements: DicomElement[], tag: number, into: string[] = []): string[] {
  for (const element of elements) {
    if (element.tag === tag) {
      into.push(Buffer.from(element.value ?? []).toString('latin1').replace(/[\0 ]+$/, ''));
    }
    for (const item of element.items ?? []) valuesAtEveryDepth(item.elements, tag, into);
  }
  return into;
}

function outcomeOf(before: string[], after: string[]): Outcome | undefined {
  if (before.every((value) => value === '')) return undefined;
  if (after.length === 0) return 'removed';
  if (after.every((value) => value === '')) return 'emptied';
  return after.some((value) => value !== '' && before.includes(value)) ? 'kept' : 'replaced';
}

function privateCount(elements: DicomElement[]): number {
  let count = 0;
  for (const element of elements) {
    if ((element.tag >>> 16) % 2 === 1) count += 1;
    for (const item of element.items ?? []) count += privateCount(item.elements);
  }
  return count;
}

function treeOf(bytes: Buffer): DicomElement[] {
  return parseElementTree(readDicom(bytes), profileVr).elements;
}

/** Starts Orthanc with HTTP on a free port, no DICOM server, storage under `dir`. */
async function startOrthanc(dir: string) {
  const httpPort = await freePort();
  const config = {
    Name: 'deid-compare',
    StorageDirectory: path.join(dir, 'orthanc'),
    IndexDirectory: path.join(dir, 'orthanc'),
    Plugins: [],
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    DicomServerEnabled: false,
  };
  const file = path.join(dir, 'orthanc.json');
  fs.writeFileSync(file, JSON.stringify(config));
  const handle = startChild('Orthanc', '/usr/sbin/Orthanc', [file], process.env);
  const base = `http://127.0.0.1:${httpPort}`;
  const version = await pollUntil(
    'Orthanc',
    async () => {
      if (handle.child.exitCode !== null) throw new Error(`Orthanc exited:\n${handle.output()}`);
      const response = await fetch(`${base}/system`).catch(() => undefined);
      return response?.ok ? ((await response.json()) as { Version: string }).Version : undefined;
    },
    30_000,
    200,
  );
  async function anonymize(bytes: Buffer): Promise<Buffer> {
    const stored = await fetch(`${base}/instances`, { method: 'POST', body: bytes });
    if (!stored.ok) throw new Error(`Orthanc POST /instances returned ${stored.status}`);
    const { ID } = (await stored.json()) as { ID: string };
    const url = `${base}/instances/${ID}/anonymize`;
    const response = await fetch(url, { method: 'POST', body: '{}' });
    if (!response.ok) throw new Error(`Orthanc anonymize returned ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  }
  return { version, anonymize, stop: () => handle.stop() };
}

/** Runs gdcmanon's basic profile with a self-signed certificate made for this run. */
function gdcmanonBasic(dir: string, input: string): Buffer {
  const cert = path.join(dir, 'cert.pem');
  if (!fs.existsSync(cert)) {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=deid-compare',
      '-keyout', path.join(dir, 'key.pem'), '-out', cert,
    ], { stdio: 'ignore' });
  }
  const output = path.join(dir, 'gdcmanon.dcm');
  fs.rmSync(output, { force: true });
  const run = spawnSync('gdcmanon', ['-e', '-c', cert, '-i', input, '-o', output], {
    encoding: 'utf8',
  });
  if (run.status !== 0) {
    const message = `${run.stdout}${run.stderr}`.trim().split('\n').pop();
    throw new Error(`gdcmanon exited with ${run.status}: ${message}`);
  }
  return fs.readFileSync(output);
}

function ours(bytes: Buffer): Buffer {
  return deidentify(bytes, {
    uidSecret: randomBytes(32),
    patientPseudonym: 'ANON0001',
    dateOffsetDays: -30,
    profile: loadDeidProfile(),
  }).bytes;
}

type Tally = Map<string, Map<Tool, Map<Outcome, number>>>;

function tally(table: Tally, row: string, tool: Tool, outcome: Outcome | undefined): void {
  if (outcome === undefined) return;
  const tools = table.get(row) ?? new Map<Tool, Map<Outcome, number>>();
  const outcomes = tools.get(tool) ?? new Map<Outcome, number>();
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  tools.set(tool, outcomes);
  table.set(row, tools);
}

function cell(outcomes: Map<Outcome, number> | undefined): string {
  if (!outcomes) return '-';
  const sorted = [...outcomes].sort((a, b) => b[1] - a[1]);
  return sorted.map(([outcome, count]) => `${outcome} ${count}`).join(', ');
}

async function compare(dir: string): Promise<string> {
  const manifest: Array<{ path: string; expect: string }> = JSON.parse(
    fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8'),
  );
  const files = manifest.filter((entry) => entry.expect === 'import').map((entry) => entry.path);
  const orthanc = await startOrthanc(dir);
  const table: Tally = new Map();
  const failures: string[] = [];
  const tools: Tool[] = ['dicom-import', 'Orthanc', 'gdcmanon'];
  try {
    for (const file of files) {
      const input = fs.readFileSync(path.join(CORPUS, file));
      const before = treeOf(input);
      const runs: Array<[Tool, () => Promise<Buffer>]> = [
        ['dicom-import', async () => ours(input)],
        ['Orthanc', () => orthanc.anonymize(input)],
        ['gdcmanon', async () => gdcmanonBasic(dir, path.join(CORPUS, file))],
      ];
      for (const [tool, produce] of runs) {
        let after: DicomElement[];
        try {
          after = treeOf(await produce());
        } catch (error) {
          failures.push(`${tool} on ${file}: ${(error as Error).message}`);
          continue;
        }
        for (const [row, tags] of CLASSES) {
          const original = tags.flatMap((tag) => valuesAtEveryDepth(before, tag));
          const result = tags.flatMap((tag) => valuesAtEveryDepth(after, tag));
          tally(table, row, tool, outcomeOf(original, result));
        }
        const privateBefore = privateCount(before);
        const privateAfter = privateCount(after);
        if (privateBefore > 0) {
          tally(table, 'Private attributes', tool, privateAfter === 0 ? 'removed' : 'kept');
        }
        const encrypted = after.some((element) => element.tag === 0x04000500);
        if (encrypted) tally(table, 'EncryptedAttributesSequence (0400,0500)', tool, 'kept');
      }
    }
  } finally {
    await orthanc.stop();
  }

  const lines = [
    `Corpus: ${files.length} importable files. Each cell counts the files holding the class:`,
    'kept (an original value remains), removed, emptied (zero length), replaced (new value).',
    `Orthanc ${orthanc.version}, default /anonymize request body \`{}\`;`,
    '`gdcmanon -e` with a self-signed certificate made for the run.',
    '',
    `| attribute class | ${tools.join(' | ')} |`,
    `| --- | ${tools.map(() => '---').join(' | ')} |`,
  ];
  for (const [row, byTool] of table) {
    lines.push(`| ${row} | ${tools.map((tool) => cell(byTool.get(tool))).join(' | ')} |`);
  }
  if (failures.length > 0) lines.push('', 'Failures:', ...failures.map((line) => `- ${line}`));
  return lines.join('\n');
}

/** De-identifies, scans and writes copies of the CT template, as the activity does without SQL. */
async function throughput(dir: string, files: number): Promise<string> {
  const folder = path.join(dir, 'ct');
  const source = await generateFolder({ files, series: 4, studies: 1, folder });
  const names = fs
    .readdirSync(source.folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
  const profile = loadDeidProfile();
  const secret = randomBytes(32);
  const started = process.hrtime.bigint();
  for (const [index, name] of names.entries()) {
    const image = readSourceImage(fs.readFileSync(name));
    const output = deidentify(image, {
      uidSecret: secret,
      patientPseudonym: 'ANON0001',
      dateOffsetDays: -30,
      profile,
    });
    dropOwnValues(output.identifiers, 'ANON0001');
    const target = path.join(dir, 'out', `${index}.dcm`);
    const released = await releaseVerified(target, output.bytes, [output.identifiers]);
    if (!released.released) throw new Error(`${name}: held back at ${released.leaks[0]?.path}`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return [
    `De-identified ${names.length} copies of the CT template (${source.bytes} bytes) in`,
    `${seconds.toFixed(2)} s: ${(names.length / seconds).toFixed(0)} files/s, one process, on`,
    `${os.cpus().length} x ${cpu}, Node ${process.version}.`,
  ].join('\n');
}

async function main(): Promise<void> {
  if (process.env[NAMESPACE_FLAG] !== '1') {
    const self = [process.execPath, ...process.execArgv, __filename, ...process.argv.slice(2)];
    const script = `ip link set lo up && exec "$@"`;
    const result = spawnSync('unshare', ['-n', 'sh', '-c', script, 'sh', ...self], {
      stdio: 'inherit',
      env: { ...process.env, [NAMESPACE_FLAG]: '1' },
    });
    if (result.error) throw new Error(`unshare -n failed: ${result.error.message}`);
    process.exitCode = result.status ?? 1;
    return;
  }
  const filesArg = process.argv.indexOf('--files');
  const files = filesArg >= 0 ? Number(process.argv[filesArg + 1]) : 500;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-compare-'));
  try {
    process.stdout.write(`${await compare(dir)}\n\n${await throughput(dir, files)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`compare-deid-peers: ${error.message}\n`);
  process.exit(1);
});
