import assert from "node:assert/strict";
import {
  allProcesses,
  isAlive,
  parseProcStat,
  readProcStat,
  sessionMembers,
  spawnDetached,
} from "./procs.ts";

Deno.test("parseProcStat: comm with spaces and parentheses, fields by number", () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[0] = "S"; // field 3: state
  fields[1] = "7"; // ppid
  fields[2] = "8"; // pgrp
  fields[3] = "9"; // sid
  fields[19] = "123456"; // field 22: starttime
  const st = parseProcStat(`42 (a (b) c) ${fields.join(" ")}`);
  assert.deepEqual(st, {
    pid: 42,
    comm: "a (b) c",
    state: "S",
    ppid: 7,
    pgrp: 8,
    sid: 9,
    startTime: 123456,
  });
  assert.equal(parseProcStat("garbage"), null);
  assert.equal(parseProcStat("1 (x) S a b c"), null);
});

Deno.test("readProcStat/isAlive: this process, and a wrong start time is not alive", () => {
  const me = readProcStat(Deno.pid);
  assert.ok(me);
  assert.equal(me.pid, Deno.pid);
  assert.ok(isAlive(me));
  assert.equal(isAlive({ pid: Deno.pid, startTime: me.startTime + 1 }), false);
  assert.ok(allProcesses().some((p) => p.pid === Deno.pid));
});

Deno.test("spawnDetached: own session, output in the log, outlives nothing of ours; sessionMembers finds its child", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demo-procs-" });
  let ref: { pid: number; startTime: number } | undefined;
  try {
    const log = `${dir}/out.log`;
    // The shell starts a child that keeps the session; both must be found.
    ref = spawnDetached("/bin/sh", ["-c", "echo hello; sleep 30 & wait"], log);
    const st = readProcStat(ref.pid)!;
    assert.equal(st.sid, ref.pid, "leader of its own session");
    assert.notEqual(st.sid, readProcStat(Deno.pid)!.sid);
    let members: ReturnType<typeof sessionMembers> = [];
    for (let i = 0; i < 100 && members.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      members = sessionMembers(ref);
    }
    assert.equal(members.length, 2, JSON.stringify(members));
    assert.ok(members.some((m) => m.comm === "sleep"));
    for (let i = 0; i < 100 && !(await Deno.readTextFile(log)).includes("hello"); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await Deno.readTextFile(log), "hello\n");
    // A recorded leader with another start time (pid reused) owns no session.
    assert.deepEqual(sessionMembers({ pid: ref.pid, startTime: ref.startTime + 1 }), []);
  } finally {
    if (ref) {
      for (const m of sessionMembers(ref)) Deno.kill(m.pid, "SIGKILL");
      for (let i = 0; i < 200 && sessionMembers(ref).length > 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    await Deno.remove(dir, { recursive: true });
  }
});
