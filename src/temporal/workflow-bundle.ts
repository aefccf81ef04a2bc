import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';

const SILENT = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/** The compiled workflows' folder when running from dist/, the TypeScript one under tsx. */
const WORKFLOWS_PATH = require.resolve('../../workflows');

/** Folder of the prebuilt bundle: dist/ for the compiled code, the project folder under tsx. */
export const DEFAULT_BUNDLE_DIR = path.resolve(__dirname, '../..');

const CODE_FILE = 'workflow-bundle.js';
const MANIFEST_FILE = 'workflow-bundle.json';

/** Inputs of a prebuilt bundle: the SDK version and the SHA-256 of every module file. */
interface BundleManifest {
  sdkVersion: string;
  /** Paths relative to the bundle's folder, with `/` as separator. */
  inputs: Record<string, string>;
}

export type PrebuiltBundle =
  | { status: 'missing' }
  | { status: 'stale'; reason: string }
  | { status: 'current'; codePath: string };

function sdkVersion(): string {
  const file = require.resolve('@temporalio/worker/package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

function sha256OfFile(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Bundles the workflow code with webpack and returns the bundle and the files it was made from. */
async function bundleWithInputs(): Promise<{ code: string; inputs: string[] }> {
  const inputs: string[] = [];
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: SILENT,
    webpackConfigHook: (config) => ({
      ...config,
      plugins: [
        ...(config.plugins ?? []),
        {
          apply(compiler) {
            // The modules, not every file webpack read: source maps also pull in the TypeScript
            // sources, which a deployment of dist/ alone does not have.
            compiler.hooks.done.tap('record workflow bundle inputs', (stats) => {
              for (const module of stats.compilation.modules) {
                const resource = (module as { resource?: string }).resource;
                if (resource) inputs.push(resource.replace(/\?.*$/, ''));
              }
            });
          },
        },
      ],
    }),
  });
  return { code, inputs };
}

/** Bundles the workflow code in this process, as the SDK does when given no prebuilt bundle. */
export async function bundleAtStart(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: SILENT });
}

/**
 * Bundles the workflow code into `dir`/workflow-bundle.js, with workflow-bundle.json listing the
 * SDK version and the SHA-256 of each input file, so that a worker can tell whether the bundle
 * still matches the code next to it. `npm run build` calls this for dist/.
 */
export async function writePrebuiltBundle(dir = DEFAULT_BUNDLE_DIR): Promise<{ inputs: number }> {
  const { code, inputs } = await bundleWithInputs();
  const manifest: BundleManifest = { sdkVersion: sdkVersion(), inputs: {} };
  // The SDK generates the entry point in memory; only the modules on disk can change.
  const onDisk = inputs.filter((input) => fs.statSync(input, { throwIfNoEntry: false })?.isFile());
  for (const file of onDisk.sort()) {
    manifest.inputs[path.relative(dir, file).split(path.sep).join('/')] = sha256OfFile(file);
  }
  fs.writeFileSync(path.join(dir, CODE_FILE), code);
  fs.writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
  return { inputs: Object.keys(manifest.inputs).length };
}

/**
 * Checks the prebuilt bundle in `dir` against the SDK version and the files it was made from.
 * `stale` names the first difference: the bundle would run other workflow code than these files.
 */
export function findPrebuiltBundle(dir = DEFAULT_BUNDLE_DIR): PrebuiltBundle {
  const codePath = path.join(dir, CODE_FILE);
  const manifestPath = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(codePath) || !fs.existsSync(manifestPath)) return { status: 'missing' };
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as BundleManifest;
  } catch (error) {
    return { status: 'stale', reason: `${manifestPath} is unreadable: ${(error as Error).message}` };
  }
  const version = sdkVersion();
  if (manifest.sdkVersion !== version) {
    return { status: 'stale', reason: `built with SDK ${manifest.sdkVersion}, running ${version}` };
  }
  for (const [relative, sha256] of Object.entries(manifest.inputs ?? {})) {
    const file = path.resolve(dir, relative);
    if (!fs.existsSync(file)) return { status: 'stale', reason: `${file} no longer exists` };
    if (sha256OfFile(file) !== sha256) return { status: 'stale', reason: `${file} changed` };
  }
  return { status: 'current', codePath };
}

// `node dist/src/temporal/workflow-bundle.js` writes the prebuilt bundle into dist/.
if (require.main === module) {
  writePrebuiltBundle().then(
    ({ inputs }) => {
      process.stdout.write(`workflow bundle written to ${DEFAULT_BUNDLE_DIR} (${inputs} inputs)\n`);
    },
    (error: unknown) => {
      process.stderr.write(`workflow bundle failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
