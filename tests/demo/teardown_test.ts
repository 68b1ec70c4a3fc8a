import assert from "node:assert/strict";
import { type ProcRef, sessionMembers, spawnDetached } from "./procs.ts";
import { claimStateDir } from "./statedir.ts";
import { describeTeardown, mountsBelow, tearDown } from "./teardown.ts";

function killAll(refs: ProcRef[]) {
  for (const r of refs) {
    for (const m of sessionMembers(r)) {
      try {
        Deno.kill(m.pid, "SIGKILL");
      } catch { /* gone */ }
    }
  }
}

/** Polls cond every 10 ms, at most 200 times; throws naming `what` if it never holds. */
async function waitFor(cond: () => boolean, what: string) {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("tearDown: SIGTERM, SIGKILL for a TERM-ignoring child, unmounts tmpfs, removes the dir", async () => {
  const root = await Deno.makeTempDir({ prefix: "demo-down-" });
  const dir = `${root}/state`;
  const refs: ProcRef[] = [];
  try {
    await claimStateDir(dir);
    await Deno.mkdir(`${dir}/scm`);
    const mnt = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=1m", "tmpfs", `${dir}/scm`],
    }).output();
    assert.ok(mnt.success, "mount tmpfs (needs root)");
    await Deno.writeTextFile(`${dir}/scm/file`, "data");
    // A well-behaved leader, and one whose child ignores SIGTERM (like a stuck engine).
    refs.push(spawnDetached("sleep", ["30"], `${dir}/a.log`));
    refs.push(spawnDetached("/bin/sh", ["-c", "trap '' TERM; sleep 30 & wait"], `${dir}/b.log`));
    await waitFor(() => sessionMembers(refs[1]).length === 2, "the shell and its sleep child");

    const r = await tearDown(dir, refs, { graceMs: 300, killMs: 3000 });
    assert.equal(r.stopped, 3);
    assert.ok(r.killed >= 1, "the TERM-ignoring process needed SIGKILL");
    assert.deepEqual(r.unmounted, [`${dir}/scm`]);
    assert.equal(r.removedDir, true);
    assert.deepEqual(r.leftovers, []);
    assert.deepEqual(refs.flatMap((ref) => sessionMembers(ref)), []);
    assert.deepEqual(await mountsBelow(dir), []);
    await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
    assert.match(describeTeardown(dir, r), /Verified: no demo processes/);

    // Nothing left to do the second time.
    const again = await tearDown(dir, refs);
    assert.deepEqual(again, {
      stopped: 0,
      killed: 0,
      unmounted: [],
      hadDir: false,
      removedDir: false,
      leftovers: [],
    });
    assert.match(describeTeardown(dir, again), /was already gone/);
  } finally {
    killAll(refs);
    for (const m of await mountsBelow(root)) {
      await new Deno.Command("umount", { args: ["-l", m] }).output();
    }
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("tearDown: a dir without the demo marker is not removed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demo-foreign-" });
  try {
    await Deno.writeTextFile(`${dir}/precious`, "keep me");
    await assert.rejects(tearDown(dir, []), /has no demo marker; not removing it/);
    assert.equal(await Deno.readTextFile(`${dir}/precious`), "keep me");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
