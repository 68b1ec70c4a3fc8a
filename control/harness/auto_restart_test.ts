import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { AutoRestarter, type RestartClock } from "./auto_restart.ts";

/** A manual clock: time moves only when the test says so. */
class FakeClock implements RestartClock {
  t = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = this.#next++;
    this.#timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(id: unknown) {
    this.#timers.delete(id as number);
  }
  advance(ms: number) {
    this.t += ms;
    for (const [id, tm] of [...this.#timers]) {
      if (tm.at <= this.t) {
        this.#timers.delete(id);
        tm.fn();
      }
    }
  }
  pending() {
    return this.#timers.size;
  }
}

function setup(minDelaySec = 10, disabled = false) {
  const clock = new FakeClock();
  const restarts: [number, number][] = [];
  const r = new AutoRestarter({
    disabled,
    minDelaySec,
    clock,
    restart: (rank) => restarts.push([rank, clock.now()]),
  });
  return { clock, restarts, r };
}

Deno.test("first self-termination restarts at once", () => {
  const { r, restarts } = setup();
  r.onSelfTerminated(3);
  assertEquals(restarts, [[3, 0]]);
});

Deno.test("a second event inside the window defers one restart to the window's end", () => {
  const { r, restarts, clock } = setup(10);
  r.onSelfTerminated(3);
  clock.advance(2000);
  r.onSelfTerminated(3);
  r.onSelfTerminated(3); // already scheduled: no second deferral
  assertEquals(clock.pending(), 1);
  clock.advance(7999);
  assertEquals(restarts.length, 1);
  clock.advance(1);
  assertEquals(restarts, [[3, 0], [3, 10000]]);
  clock.advance(20000);
  r.onSelfTerminated(3);
  assertEquals(restarts.length, 3, "outside the window again: immediate");
});

Deno.test("ranks are limited independently; 0 means the 300 s default", () => {
  const { r, restarts, clock } = setup(0);
  r.onSelfTerminated(1);
  r.onSelfTerminated(2);
  clock.advance(299_000);
  r.onSelfTerminated(1);
  assertEquals(restarts.map(([k]) => k), [1, 2]);
  clock.advance(1000);
  assertEquals(restarts.map(([k]) => k), [1, 2, 1]);
});

Deno.test("disabled restarter never restarts; clearHistory drops the limit", () => {
  const off = setup(10, true);
  off.r.onSelfTerminated(1);
  assertEquals(off.restarts, []);
  const { r, restarts, clock } = setup(10);
  r.onSelfTerminated(1);
  r.onSelfTerminated(1);
  assertEquals(clock.pending(), 1);
  r.clearHistory(1);
  assertEquals(clock.pending(), 0);
  r.onSelfTerminated(1);
  assertEquals(restarts.length, 2);
});

Deno.test("negative min delay is refused with the config key", () => {
  throws(
    () => new AutoRestarter({ disabled: false, minDelaySec: -1, restart: () => {} }),
    /engine_auto_restart_min_delay must be >= 0 \(got -1\)/,
  );
});
