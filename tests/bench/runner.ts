/**
 * Measures scenarios: calibrates a batch size so one sample lasts long enough for the clock,
 * then alternates floor and run samples (so both see the same noise) for a bounded number of
 * repetitions, and summarises them with ratios to the floor.
 */
import type { Scenario } from "./scenario.ts";
import { ratio, summarize, type Summary } from "./stats.ts";

/** Runner limits. */
export interface RunOptions {
  /** Samples per side (run and floor). */
  reps: number;
  /** Target duration of one sample in ms (batch calibration). */
  sampleMs: number;
  /** Upper bound of calls in one batch. */
  maxBatch: number;
  /** Untimed warm-up batches per side. */
  warmup: number;
}

/** Defaults: 30 samples of ≥ 5 ms each. */
export const DEFAULT_RUN_OPTIONS: RunOptions = {
  reps: 30,
  sampleMs: 5,
  maxBatch: 1 << 20,
  warmup: 2,
};

/** Result of one scenario (times are per call, in microseconds). */
export interface ScenarioResult {
  scenario: string;
  description: string;
  /** Calls per timed sample, for run and floor. */
  batch: { run: number; floor: number };
  run: Summary;
  floor: Summary;
  /** run.p50 / floor.p50 */
  ratioP50: number | undefined;
  /** run.p99 / floor.p99 */
  ratioP99: number | undefined;
  startedAt: string;
  deno: string;
}

async function timeBatch(fn: () => unknown, batch: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < batch; i++) {
    const r = fn();
    if (r instanceof Promise) await r;
  }
  return ((performance.now() - t0) * 1000) / batch; // µs per call
}

/** Smallest power-of-two batch lasting ≥ sampleMs (bounded by maxBatch). */
async function calibrate(
  time: (batch: number) => Promise<number>,
  o: RunOptions,
): Promise<number> {
  let batch = 1;
  while (batch < o.maxBatch) {
    const perCall = await time(batch);
    if ((perCall * batch) / 1000 >= o.sampleMs) break;
    batch *= 2;
  }
  return batch;
}

/** Runs one scenario and summarises it. */
export async function runScenario(
  s: Scenario,
  opts: Partial<RunOptions> = {},
): Promise<ScenarioResult> {
  const o = { ...DEFAULT_RUN_OPTIONS, ...opts };
  if (!(o.reps >= 1)) throw new RangeError(`reps must be ≥ 1, got ${o.reps}`);
  const startedAt = new Date().toISOString();
  try {
    // Inside the try: a setup that fails half-way still gets its teardown, so it leaks
    // no processes or mounts (teardowns must tolerate a partial setup).
    await s.setup?.();
    // Each side gets its own batch size: samples are per call, and a fast floor needs
    // many calls per sample to rise above the clock's resolution.
    const timeRun = async (n: number) => {
      await s.beforeRun?.(n);
      return await timeBatch(s.run, n);
    };
    const timeFloor = (n: number) => timeBatch(s.floor, n);
    const batch = { run: await calibrate(timeRun, o), floor: await calibrate(timeFloor, o) };
    for (let i = 0; i < o.warmup; i++) {
      await timeFloor(batch.floor);
      await timeRun(batch.run);
    }
    const runs: number[] = [];
    const floors: number[] = [];
    for (let i = 0; i < o.reps; i++) {
      floors.push(await timeFloor(batch.floor));
      runs.push(await timeRun(batch.run));
    }
    const run = summarize(runs);
    const floor = summarize(floors);
    return {
      scenario: s.name,
      description: s.description,
      batch,
      run,
      floor,
      ratioP50: ratio(run.p50, floor.p50),
      ratioP99: ratio(run.p99, floor.p99),
      startedAt,
      deno: Deno.version.deno,
    };
  } finally {
    await s.teardown?.();
  }
}
