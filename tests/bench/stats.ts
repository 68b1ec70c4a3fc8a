/** Sample statistics for the bench runner: median, percentiles, ratios. */

/** Sorted copy of the samples (ascending); throws on an empty list. */
function sorted(samples: readonly number[]): number[] {
  if (samples.length === 0) throw new RangeError("no samples");
  return [...samples].sort((a, b) => a - b);
}

/**
 * The p-th percentile (0 ≤ p ≤ 100) with linear interpolation between closest ranks
 * (the common "R-7" definition: p50 of [1,2,3,4] is 2.5, p100 is the max).
 */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in 0..100, got ${p}`);
  const s = sorted(samples);
  const pos = (p / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Median = 50th percentile. */
export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Summary of one sample set. */
export interface Summary {
  n: number;
  min: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/** Summarises samples (n, min, mean, p50, p99, max). */
export function summarize(samples: readonly number[]): Summary {
  const s = sorted(samples);
  return {
    n: s.length,
    min: s[0],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    max: s[s.length - 1],
  };
}

/** value / floor, or undefined when the floor is not positive (no meaningful ratio). */
export function ratio(value: number, floor: number): number | undefined {
  return floor > 0 ? value / floor : undefined;
}
