import {
  type DevServerConfig,
  type EphemeralServerExecutable,
  TestWorkflowEnvironment,
} from '@temporalio/testing';

import { DefaultLogger, Runtime } from '@temporalio/worker';

import { findTemporalCli, findTimeSkippingServer } from '../../src/temporal/binary';

/** Dev server options a test may set. This helper chooses the executable and the IP. */
export type TestServerOptions = Omit<DevServerConfig, 'type' | 'executable' | 'ip'>;

let runtimeInstalled = false;

/** Keeps the SDK's own log at WARN in tests (TEMPORAL_TEST_LOG_LEVEL overrides it). */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.TEMPORAL_TEST_LOG_LEVEL ?? 'WARN') as 'WARN';
  Runtime.install({ logger: new DefaultLogger(level) });
}

/**
 * Starts a Temporal dev server on 127.0.0.1 with an in-memory store. It runs the CLI that
 * findTemporalCli finds, or lets the SDK download one when none is installed.
 */
export async function createTestEnv(
  server: TestServerOptions = {},
): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: { ...server, executable: executableOf(findTemporalCli()), ip: '127.0.0.1' },
  });
}

/** Starts the time-skipping test server that findTimeSkippingServer finds, or a downloaded one. */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: executableOf(findTimeSkippingServer()) },
  });
}

function executableOf(path: string | undefined): EphemeralServerExecutable {
  return path ? { type: 'existing-path', path } : { type: 'cached-download' };
}
