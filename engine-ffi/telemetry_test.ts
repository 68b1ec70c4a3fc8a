/**
 * The TS telemetry reader over FFI on tree files written here: a valid tree (the fuzz seed the
 * C producer wrote) reads as typed metrics; missing, stale, truncated and corrupt trees give a
 * TelemetryError of the right kind naming the file. The live-engine cases are in
 * tests/integration/engine_telemetry_test.ts.
 */
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import {
  closeTelemetryReader,
  parseMetricsJson,
  readEngineMetrics,
  TelemetryError,
  type TelemetryErrorKind,
  TelemetryReader,
} from "./telemetry.ts";

const seed = new URL("./native/tests/fuzz_seeds_tm/valid4", import.meta.url).pathname;

function kindOf(kind: TelemetryErrorKind, text: RegExp) {
  return (e: Error) => {
    ok(e instanceof TelemetryError, `${e}`);
    equal(e.kind, kind, e.message);
    match(e.message, text);
    return true;
  };
}

/** Holds flock(LOCK_EX) on a file as a live engine does, from a child process. */
async function withLockHolder(file: string, fn: () => Promise<void> | void): Promise<void> {
  const child = new Deno.Command("flock", {
    args: ["-x", file, "sleep", "60"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    // wait until the lock is held: flock -n fails while the child has it
    for (let i = 0; i < 200; i++) {
      const probe = await new Deno.Command("flock", { args: ["-n", "-s", file, "true"] }).output();
      if (!probe.success) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await fn();
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}

Deno.test("telemetry reader: valid, missing, stale, truncated and corrupt trees", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm_reader_" });
  const reader = new TelemetryReader();
  try {
    const file = `${dir}/daos_tm_sys_2`;
    const image = await Deno.readFile(seed);
    await Deno.writeFile(file, image);

    // no process holds the tree's lock: its engine is gone
    throws(() => reader.read("sys", 2, { dir }), kindOf("stale", /daos_tm_sys_2 is stale/));

    await withLockHolder(file, async () => {
      const m = reader.read("sys", 2, { dir });
      equal(m.system, "seed");
      equal(m.instance, 0);
      deepEqual(m.metrics.map((x) => x.path), [
        "drpc/mgmt/set_rank/calls",
        "rank",
        "started_at",
        "drpc/mgmt/set_rank/latency",
      ]);
      deepEqual(m.metrics[0], {
        path: "drpc/mgmt/set_rank/calls",
        desc: "dRPC calls handled",
        units: "calls",
        type: "counter",
        value: 3,
      });
      deepEqual(m.metrics[1], { path: "rank", desc: "rank", units: "", type: "gauge", value: 2 });
      equal(m.metrics[2].type, "timestamp");
      const lat = m.metrics[3];
      ok(lat.type === "duration");
      deepEqual(
        [lat.count, lat.sum, lat.min, lat.max, lat.last, lat.mean],
        [2, 1333, 99, 1234, 99, 666.5],
      );
      // sample standard deviation of 99 and 1234
      ok(Math.abs(lat.stddev - 1135 / Math.SQRT2) < 1e-6, `stddev ${lat.stddev}`);
      deepEqual(reader.readFile(file), m);
      // the shared reader of readEngineMetrics reads the same
      deepEqual(readEngineMetrics("sys", 2, { dir }), m);

      // corrupt in place while "alive": errors, never a crash
      const bad = image.slice();
      bad[0] = 0x58;
      await Deno.writeFile(file, bad);
      throws(() => reader.read("sys", 2, { dir }), kindOf("corrupt", /bad magic/));
      bad.set(image);
      new DataView(bad.buffer).setUint32(8, 9, true); // version
      await Deno.writeFile(file, bad);
      throws(() => reader.read("sys", 2, { dir }), kindOf("version", /version 9/));
      await Deno.writeFile(file, image.subarray(0, 700));
      throws(() => reader.read("sys", 2, { dir }), kindOf("corrupt", /truncated/));
    });

    throws(() => reader.read("sys", 7, { dir }), kindOf("not_running", /daos_tm_sys_7/));
    throws(() => reader.read("a/b", 0, { dir }), kindOf("invalid", /system name 'a\/b'/));
    throws(() => reader.read("sys", -1, { dir }), kindOf("invalid", /instance index -1/));
    throws(() => reader.read("sys", 0, { dir: "relative" }), kindOf("invalid", /not absolute/));
    throws(() => reader.readFile("x\0y"), kindOf("invalid", /NUL byte/));
  } finally {
    reader.close();
    closeTelemetryReader();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseMetricsJson rejects documents of the wrong shape", () => {
  throws(() => parseMetricsJson("{}"), TelemetryError);
  throws(
    () =>
      parseMetricsJson(JSON.stringify({
        system: "s",
        instance: 0,
        pid: 1,
        created: 1,
        metrics: [{ path: "p", desc: "", units: "", type: "histogram", value: 1 }],
      })),
    /type histogram/,
  );
});
