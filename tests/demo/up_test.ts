import assert from "node:assert/strict";
import { alreadyRunningText, isRunning } from "./up.ts";
import type { DemoState } from "./state.ts";
import { readProcStat } from "./procs.ts";

function state(phase: DemoState["phase"], pid: number, startTime: number): DemoState {
  return {
    version: 1,
    dir: "/tmp/daos-demo",
    phase,
    createdAt: "2026-01-01T00:00:00.000Z",
    port: 10001,
    dmgConfig: "/tmp/daos-demo/daos_control.yml",
    servers: [{ addr: "127.0.0.1:10001", pid, startTime, configPath: "c", logPath: "l" }],
  };
}

Deno.test("isRunning: a recorded live server counts, a reused pid does not", () => {
  const me = readProcStat(Deno.pid)!;
  assert.equal(isRunning(state("running", Deno.pid, me.startTime)), true);
  assert.equal(isRunning(state("running", Deno.pid, me.startTime + 1)), false);
});

Deno.test("alreadyRunningText: how to use and tear down; warns while still starting", () => {
  const running = alreadyRunningText(state("running", 1, 1));
  assert.match(
    running,
    /already running in \/tmp\/daos-demo \(1 daos_server, started .*leaving it/,
  );
  assert.match(running, /-o \/tmp\/daos-demo\/daos_control.yml system query -v/);
  assert.match(running, /scripts\/demo down/);
  assert.doesNotMatch(running, /has not finished/);
  assert.match(alreadyRunningText(state("starting", 1, 1)), /start-up has not finished/);
});
