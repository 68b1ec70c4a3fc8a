/**
 * Bench scenarios: each module in tests/bench/scenarios/ calls {@link registerScenario}.
 * A scenario measures its own work (`run`) and a "floor" doing the unavoidable minimum in the
 * same process, so results can be read as ratios on noisy machines.
 */

/** One benchmark scenario. */
export interface Scenario {
  /** Name used on the command line and in result file names. */
  name: string;
  /** One line saying what `run` and `floor` do. */
  description: string;
  /** Optional preparation before timing (build inputs, start processes). */
  setup?: () => void | Promise<void>;
  /** The work measured. */
  run: () => unknown | Promise<unknown>;
  /**
   * Optional untimed step before each timed batch of `batch` runs (e.g. bring the system back
   * to a size it supports when every run adds to it).
   */
  beforeRun?: (batch: number) => void | Promise<void>;
  /** The baseline measured alongside `run`. */
  floor: () => unknown | Promise<unknown>;
  /** Optional clean-up after timing (always called if setup ran). */
  teardown?: () => void | Promise<void>;
}

const registry = new Map<string, Scenario>();

/** Adds a scenario; names must be unique. */
export function registerScenario(s: Scenario): void {
  if (registry.has(s.name)) throw new Error(`bench scenario "${s.name}" registered twice`);
  registry.set(s.name, s);
}

/** Registered scenarios in name order. */
export function registeredScenarios(): Scenario[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}
