import assert from "node:assert/strict";
import { DEFAULT_STATE_DIR, parseDemoArgs, UsageError } from "./options.ts";

const noEnv = { get: (_: string) => undefined };

Deno.test("parseDemoArgs: defaults are 3 servers, 2 engines, 3 replicas, /tmp/daos-demo", () => {
  assert.deepEqual(parseDemoArgs([], noEnv), {
    kind: "up",
    stateDir: DEFAULT_STATE_DIR,
    servers: 3,
    engines: 2,
    replicas: 3,
    targets: 1,
    joinTimeout: 180,
  });
  const one = parseDemoArgs(["--servers", "1"], noEnv);
  assert.equal(one.kind === "up" && one.replicas, 1, "one server implies one replica");
});

Deno.test("parseDemoArgs: flags, env and relative state dirs", () => {
  const env = { get: (n: string) => (n === "DAOS_DEMO_DIR" ? "/srv/demo" : undefined) };
  const up = parseDemoArgs(["up", "--servers", "2", "--engines", "1", "--replicas", "1"], env);
  assert.equal(up.kind, "up");
  if (up.kind !== "up") return;
  assert.equal(up.servers, 2);
  assert.equal(up.engines, 1);
  assert.equal(up.stateDir, "/srv/demo");
  assert.deepEqual(parseDemoArgs(["down", "--state-dir", "/x/y"], env), {
    kind: "down",
    stateDir: "/x/y",
  });
  assert.deepEqual(parseDemoArgs(["status", "--state-dir", "rel"], noEnv), {
    kind: "status",
    stateDir: `${Deno.cwd()}/rel`,
  });
  assert.equal(parseDemoArgs(["--help"], noEnv).kind, "help");
});

Deno.test("parseDemoArgs: bad values name the flag, the value and the fix", () => {
  const bad = (args: string[], re: RegExp) =>
    assert.throws(
      () => parseDemoArgs(args, noEnv),
      (e) => e instanceof UsageError && re.test(e.message),
    );
  bad(["--servers", "0"], /--servers "0": must be an integer from 1 to 32/);
  bad(["--servers", "two"], /--servers "two"/);
  bad(["--engines", "9"], /--engines "9": must be an integer from 1 to 4/);
  bad(["--replicas", "2"], /--replicas 2: must be odd.*use --replicas 1/);
  bad(["--servers", "2", "--replicas", "3"], /at most --servers \(2\)/);
  bad(["sideways"], /too many arguments|unknown command/);
  bad(["--bogus"], /unknown option '--bogus'/);
});
