/**
 * Automatic restart of engines that terminated themselves (RAS engine_self_terminated,
 * spec/server.md §4.4): at most one restart per rank per min delay; an event inside the window
 * schedules one deferred restart at the window's end.
 */

/** Clock and timers, injectable for tests. */
export interface RestartClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

const realClock: RestartClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** Options of an AutoRestarter. */
export interface AutoRestartOptions {
  /** disable_engine_auto_restart. */
  disabled: boolean;
  /** engine_auto_restart_min_delay in seconds; 0 means the default 300. */
  minDelaySec: number;
  /** Restarts the local engine holding rank. */
  restart(rank: number): void;
  clock?: RestartClock;
  /** Most deferred restarts kept at once (reference queue depth). */
  maxPending?: number;
}

/** Default engine_auto_restart_min_delay. */
export const DEFAULT_MIN_DELAY_SEC = 300;

/** Rate-limited restarter of self-terminated ranks. */
export class AutoRestarter {
  #o: AutoRestartOptions;
  #clock: RestartClock;
  #last = new Map<number, number>();
  #pending = new Map<number, unknown>();

  constructor(opts: AutoRestartOptions) {
    if (opts.minDelaySec < 0) {
      throw new Error(
        `engine_auto_restart_min_delay must be >= 0 (got ${opts.minDelaySec})`,
      );
    }
    this.#o = opts;
    this.#clock = opts.clock ?? realClock;
  }

  #delayMs(): number {
    return (this.#o.minDelaySec === 0 ? DEFAULT_MIN_DELAY_SEC : this.#o.minDelaySec) * 1000;
  }

  /** Handles an engine_self_terminated event for a local rank. */
  onSelfTerminated(rank: number): void {
    if (this.#o.disabled || this.#pending.has(rank)) return;
    const now = this.#clock.now();
    const last = this.#last.get(rank);
    if (last === undefined || now - last >= this.#delayMs()) {
      this.#fire(rank, now);
      return;
    }
    if (this.#pending.size >= (this.#o.maxPending ?? 100)) return;
    const id = this.#clock.setTimeout(() => {
      this.#pending.delete(rank);
      this.#fire(rank, this.#clock.now());
    }, last + this.#delayMs() - now);
    this.#pending.set(rank, id);
  }

  #fire(rank: number, now: number): void {
    this.#last.set(rank, now);
    this.#o.restart(rank);
  }

  /** Forgets a rank's history (manual stop/start) and drops its deferred restart. */
  clearHistory(rank: number): void {
    this.#last.delete(rank);
    const id = this.#pending.get(rank);
    if (id !== undefined) this.#clock.clearTimeout(id);
    this.#pending.delete(rank);
  }

  /** Cancels every deferred restart (server shutdown). */
  close(): void {
    for (const id of this.#pending.values()) this.#clock.clearTimeout(id);
    this.#pending.clear();
  }
}
