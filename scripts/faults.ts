import { badInputScenario } from './faults/scenario-bad-input';
import { killScenario } from './faults/scenario-kill';
import { watcherScenario } from './faults/scenario-watcher';
import { storageScenario } from './faults/scenario-storage';
import { sigtermScenario } from './faults/scenario-sigterm';
import { postgresScenario, temporalScenario } from './faults/scenario-restarts';
import type { Scenario, ScenarioResult } from './faults/result';

/**
 * Runs the fault scenarios against real processes: a Temporal dev server with its state on disk,
 * the local Postgres server, worker and watcher processes. Prints one line per scenario, then the
 * totals. FAULTS_ONLY=kill,postgres runs a subset; FAULTS_KILLS, FAULTS_FILES and FAULTS_SEED
 * change the kill count, folder size and kill moments. Exits 1 when an image is lost or stored
 * twice or a check fails.
 */
const scenarios: Record<string, Scenario> = {
  kill: killScenario,
  postgres: postgresScenario,
  temporal: temporalScenario,
  watcher: watcherScenario,
  sigterm: sigtermScenario,
  storage: storageScenario,
  bad: badInputScenario,
};

function line(result: ScenarioResult): string {
  const verdict = result.problems.length === 0 && result.lost === 0 && result.duplicated === 0;
  const parts = [
    `${verdict ? 'ok  ' : 'FAIL'} ${result.name}:`,
    `${result.kills} kills, ${result.restarts} restarts, ${result.badInputs} bad inputs,`,
    `${result.lost} lost, ${result.duplicated} duplicated, ${Math.round(result.durationMs / 1000)} s`,
  ];
  if (result.notes.length > 0) parts.push(`(${result.notes.join('; ')})`);
  return parts.join(' ');
}

async function main(): Promise<number> {
  const only = process.env.FAULTS_ONLY?.split(',').filter(Boolean) ?? Object.keys(scenarios);
  const options = {
    seed: Number(process.env.FAULTS_SEED ?? 20261204),
    files: Number(process.env.FAULTS_FILES ?? 500),
    kills: Number(process.env.FAULTS_KILLS ?? 10),
  };
  const results: ScenarioResult[] = [];
  for (const name of only) {
    const scenario = scenarios[name];
    if (!scenario) throw new Error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
    let result: ScenarioResult;
    try {
      result = await scenario(options);
    } catch (error) {
      result = {
        name,
        kills: 0,
        restarts: 0,
        badInputs: 0,
        lost: 0,
        duplicated: 0,
        problems: [`scenario failed: ${(error as Error).stack ?? String(error)}`],
        notes: [],
        durationMs: 0,
      };
    }
    results.push(result);
    console.log(line(result));
    for (const problem of result.problems) console.log(`     ${problem}`);
  }

  const sum = (key: 'kills' | 'restarts' | 'badInputs' | 'lost' | 'duplicated') =>
    results.reduce((total, result) => total + result[key], 0);
  console.log(
    `faults: ${results.length} scenarios, ${sum('kills')} kills, ${sum('restarts')} restarts, ` +
      `${sum('badInputs')} bad inputs, ${sum('lost')} lost, ${sum('duplicated')} duplicated`,
  );
  const failed = results.some((r) => r.problems.length > 0 || r.lost > 0 || r.duplicated > 0);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`faults: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
