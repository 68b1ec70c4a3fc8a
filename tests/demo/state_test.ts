import assert from "node:assert/strict";
import { BadStateError, type DemoState, readState, validateState, writeState } from "./state.ts";
import { claimStateDir, isDemoDir, lockStateDir, MARKER, StateDirError } from "./statedir.ts";

function sample(dir: string): DemoState {
  return {
    version: 1,
    dir,
    phase: "running",
    createdAt: "2026-01-01T00:00:00.000Z",
    port: 10001,
    dmgConfig: `${dir}/daos_control.yml`,
    servers: [{
      addr: "127.0.0.1",
      pid: 10,
      startTime: 20,
      configPath: `${dir}/s1/daos_server.yml`,
      logPath: `${dir}/s1/daos_server.log`,
    }],
  };
}

Deno.test("state: write then read round-trips; absent file reads as null", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demo-state-" });
  try {
    assert.equal(await readState(dir), null);
    await writeState(sample(dir));
    assert.deepEqual(await readState(dir), sample(dir));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["state.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("state: corrupt or ill-typed files are BadStateError naming file and field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demo-state-" });
  try {
    await Deno.writeTextFile(`${dir}/state.json`, "{not json");
    await assert.rejects(
      readState(dir),
      (e) => e instanceof BadStateError && /not valid JSON/.test(e.message),
    );
    const s = sample(dir) as unknown as Record<string, unknown>;
    assert.throws(() => validateState({ ...s, version: 2 }, "f"), /f: unsupported version 2/);
    assert.throws(() => validateState({ ...s, port: 0 }, "f"), /bad port/);
    assert.throws(() => validateState({ ...s, dir: "rel" }, "f"), /dir must be absolute/);
    assert.throws(
      () => validateState({ ...s, servers: [{ pid: "x" }] }, "f"),
      /servers\[0\] needs pid/,
    );
    assert.throws(() => validateState([], "f"), /not a JSON object/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("statedir: claims new or empty dirs, refuses foreign non-empty ones", async () => {
  const root = await Deno.makeTempDir({ prefix: "demo-dir-" });
  try {
    await claimStateDir(`${root}/new`);
    assert.ok(await isDemoDir(`${root}/new`));
    await claimStateDir(`${root}/new`); // again: still ours
    await Deno.mkdir(`${root}/empty`);
    await claimStateDir(`${root}/empty`);
    assert.ok((await Deno.stat(`${root}/empty/${MARKER}`)).isFile);
    await Deno.mkdir(`${root}/foreign`);
    await Deno.writeTextFile(`${root}/foreign/precious`, "x");
    await assert.rejects(
      claimStateDir(`${root}/foreign`),
      (e) => e instanceof StateDirError && /not made by the demo.*--state-dir/.test(e.message),
    );
    assert.equal(await isDemoDir(`${root}/foreign`), false);
    assert.equal(await isDemoDir(`${root}/missing`), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("statedir: the lock is exclusive between processes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demo-lock-" });
  try {
    const held = await lockStateDir(dir);
    // flock(LOCK_EX|LOCK_NB) from another process must fail while we hold it.
    const probe = () =>
      new Deno.Command("flock", { args: ["-n", `${dir}/.lock`, "true"] }).output();
    assert.equal((await probe()).success, false);
    held.close();
    assert.equal((await probe()).success, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
