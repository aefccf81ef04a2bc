import type { Harness } from './harness';
import type { Verdict } from './verify';

export interface ScenarioResult {
  name: string;
  kills: number;
  restarts: number;
  badInputs: number;
  lost: number;
  duplicated: number;
  problems: string[];
  /** Measured facts for the report line, such as `recovered in 63 s`. */
  notes: string[];
  durationMs: number;
}

export interface ScenarioOptions {
  seed: number;
  files: number;
  kills: number;
}

export type Scenario = (options: ScenarioOptions) => Promise<ScenarioResult>;

/** Mulberry32: a small seeded generator, so a run's kill moments can be repeated. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Collects verdicts and counters of one scenario into its result. */
export class Tally {
  readonly problems: string[] = [];
  readonly notes: string[] = [];
  lost = 0;
  duplicated = 0;
  badInputs = 0;
  private readonly started = Date.now();

  constructor(readonly name: string) {}

  add(verdict: Verdict, label = ''): void {
    this.lost += verdict.lost;
    this.duplicated += verdict.duplicated;
    this.problems.push(...verdict.problems.map((problem) => (label ? `${label}: ${problem}` : problem)));
  }

  check(condition: boolean, problem: string): void {
    if (!condition) this.problems.push(problem);
  }

  result(harnesses: Harness[], extra: { kills?: number; restarts?: number } = {}): ScenarioResult {
    return {
      name: this.name,
      kills: harnesses.reduce((sum, h) => sum + h.kills, 0) + (extra.kills ?? 0),
      restarts: harnesses.reduce((sum, h) => sum + h.restarts, 0) + (extra.restarts ?? 0),
      badInputs: this.badInputs,
      lost: this.lost,
      duplicated: this.duplicated,
      problems: this.problems,
      notes: this.notes,
      durationMs: Date.now() - this.started,
    };
  }
}
