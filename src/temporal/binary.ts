import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

import { ConfigError } from '../errors';

/** One Temporal executable: the variable that overrides it and its file name. */
interface ExecutableSpec {
  envVariable: string;
  fileName: string;
}

const TEMPORAL_CLI: ExecutableSpec = { envVariable: 'TEMPORAL_CLI_PATH', fileName: 'temporal' };

const TIME_SKIPPING_SERVER: ExecutableSpec = {
  envVariable: 'TEMPORAL_TEST_SERVER_PATH',
  fileName: 'temporal-test-server',
};

/**
 * Returns the virtual environment that scripts/install-temporal.sh fills:
 * `$XDG_CACHE_HOME/dicom-import/temporal-venv`, or `~/.cache/...` when XDG_CACHE_HOME is unset.
 */
export function temporalVenvDir(env: NodeJS.ProcessEnv = process.env): string {
  const cacheHome = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cacheHome, 'dicom-import', 'temporal-venv');
}

/**
 * Finds the Temporal CLI: $TEMPORAL_CLI_PATH, then `temporal` on PATH, then the copy installed
 * by scripts/install-temporal.sh. Returns undefined when none exists, so callers may let the
 * SDK download it. Throws ConfigError when TEMPORAL_CLI_PATH names no executable file.
 */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findExecutable(TEMPORAL_CLI, env);
}

/**
 * Finds the time-skipping test server in the same order as findTemporalCli, with
 * $TEMPORAL_TEST_SERVER_PATH as the override.
 */
export function findTimeSkippingServer(
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return findExecutable(TIME_SKIPPING_SERVER, env);
}

function findExecutable(spec: ExecutableSpec, env: NodeJS.ProcessEnv): string | undefined {
  const override = env[spec.envVariable];
  if (override) {
    if (!isExecutableFile(override)) {
      throw new ConfigError(
        `${spec.envVariable}=${override} is not an executable file: fix the path or unset it`,
      );
    }
    return override;
  }

  const onPath = findOnPath(spec.fileName, env.PATH ?? '');
  if (onPath) return onPath;

  const installed = join(temporalVenvDir(env), 'bin', spec.fileName);
  return isExecutableFile(installed) ? installed : undefined;
}

function findOnPath(fileName: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;

    const candidate = join(dir, fileName);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** Error codes that mean no usable file exists at a path. Other errors are raised. */
const ABSENT_CODES = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'ELOOP']);

/** Follows symbolic links, so a link to an executable counts and a dangling link does not. */
function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch (error) {
    if (ABSENT_CODES.has((error as NodeJS.ErrnoException).code ?? '')) return false;
    throw error;
  }
}
