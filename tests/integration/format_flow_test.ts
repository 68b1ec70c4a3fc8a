/** The StorageFormat flow on real tmpfs mounts and real bdev files (needs root). */
import assert from "node:assert/strict";
import { FormatGate, needsFormat } from "../../control/storage/format_state.ts";
import {
  ALREADY_FORMATTED,
  formatHostStorage,
  type FormatInstance,
} from "../../control/storage/format.ts";
import { findMount, tmpfsSizeBytes } from "../../control/storage/mounts.ts";
import { readSuperblock } from "../../control/storage/superblock.ts";
import { assertAllStatus, makeFormatFixture } from "./format_fixture.ts";
import type { EngineConfig } from "../../control/config/types.ts";

function instances(engines: EngineConfig[], running = new Set<number>()): FormatInstance[] {
  return engines.map((config) => ({
    config,
    isRunning: () => running.has(config.index),
    kill: () => {
      running.delete(config.index);
      return Promise.resolve();
    },
  }));
}

const env = (gate: FormatGate) => ({ hostname: "testhost", gate });

Deno.test("format: two engines on tmpfs + file bdevs, refused without force, redone with force", async () => {
  const f = await makeFormatFixture(2);
  try {
    const cfg = f.config;
    const gate = new FormatGate();
    // Before format: both instances need format and wait.
    for (const e of cfg.engines) {
      assert.equal(await needsFormat(e), `SCM format required on instance ${e.index}`);
    }
    const waits = cfg.engines.map((e) => gate.awaitFormat(e.index));
    assert.deepEqual(gate.waiting(), [0, 1]);

    const out = await formatHostStorage(cfg, instances(cfg.engines), {
      reformat: false,
      replace: false,
    }, env(gate));
    assert.deepEqual(out.scm.map((r) => [r.instanceIdx, r.status, r.error]).sort(), [
      [0, "CTL_SUCCESS", ""],
      [1, "CTL_SUCCESS", ""],
    ]);
    assert.equal(out.bdevs.filter((r) => r.status === "CTL_SUCCESS").length, 4);
    assert.deepEqual(await Promise.all(waits), [{ replace: false }, { replace: false }]);

    const uuids: string[] = [];
    for (const e of cfg.engines) {
      const m = await findMount(e.scm!.scmMount);
      assert.equal(m?.fsType, "tmpfs");
      assert.equal(tmpfsSizeBytes(m!), 4 * (1 << 30));
      assert.ok(m!.options.includes("noatime"));
      const conf = JSON.parse(await Deno.readTextFile(`${e.scm!.scmMount}/daos_nvme.conf`));
      assert.equal(conf.subsystems[0].config[2].params.filename, e.bdevs[0].bdevList[0]);
      const sb = await readSuperblock(e.scm!.scmMount);
      assert.equal(sb?.rank, null);
      assert.equal(sb?.system, "daos_server");
      uuids.push(sb!.uuid);
      for (const b of e.bdevs[0].bdevList) {
        const st = await Deno.stat(b);
        assert.equal(st.size, 1 << 30);
        assert.equal(st.mode! & 0o777, 0o660);
      }
      assert.equal(await needsFormat(e), null);
    }

    // Second format without --force is refused and changes nothing.
    const again = await formatHostStorage(cfg, instances(cfg.engines), {
      reformat: false,
      replace: false,
    }, env(gate));
    assertAllStatus(again.scm, "CTL_ERR_SCM", 2);
    assert.ok(again.scm.every((r) => r.error.startsWith(ALREADY_FORMATTED)));
    assert.equal((await readSuperblock(cfg.engines[0].scm!.scmMount))?.uuid, uuids[0]);

    // A running instance is refused without force, killed and reformatted with it.
    await Deno.writeTextFile(`${cfg.engines[0].scm!.scmMount}/junk`, "x");
    const running = new Set([0]);
    const forced = await formatHostStorage(cfg, instances(cfg.engines, running), {
      reformat: true,
      replace: false,
    }, env(gate));
    assertAllStatus(forced.scm, "CTL_SUCCESS", 2);
    assert.equal(running.size, 0);
    const sb0 = await readSuperblock(cfg.engines[0].scm!.scmMount);
    assert.notEqual(sb0?.uuid, uuids[0]);
    assert.equal(await Deno.stat(`${cfg.engines[0].scm!.scmMount}/junk`).then(() => 1, () => 0), 0);
  } finally {
    await f.cleanup();
  }
  assert.equal(await Deno.stat(f.dir).then(() => 1, () => 0), 0);
});

Deno.test("format: running instance needing format is refused without --force", async () => {
  const f = await makeFormatFixture(1);
  try {
    const gate = new FormatGate();
    const out = await formatHostStorage(f.config, instances(f.config.engines, new Set([0])), {
      reformat: false,
      replace: false,
    }, env(gate));
    assert.equal(out.scm[0].status, "CTL_ERR_SCM");
    assert.equal(out.scm[0].error, "instance 0: can't format storage of running instance");
    assert.equal(await findMount(f.config.engines[0].scm!.scmMount), null);
  } finally {
    await f.cleanup();
  }
});

Deno.test("format: a failed bdev format leaves no superblock and can be retried", async () => {
  const f = await makeFormatFixture(1);
  try {
    const gate = new FormatGate();
    const e = f.config.engines[0];
    // Block the bdev path with a directory so creating the file fails.
    await Deno.mkdir(e.bdevs[0].bdevList[0]);
    const out = await formatHostStorage(f.config, instances(f.config.engines), {
      reformat: false,
      replace: false,
    }, env(gate));
    assert.ok(out.bdevs.some((r) => r.status === "CTL_ERR_NVME"), JSON.stringify(out.bdevs));
    assert.equal(await readSuperblock(e.scm!.scmMount), null);
    await Deno.remove(e.bdevs[0].bdevList[0]);
    const retry = await formatHostStorage(f.config, instances(f.config.engines), {
      reformat: true,
      replace: false,
    }, env(gate));
    assertAllStatus(retry.bdevs, "CTL_SUCCESS", 2);
    assert.notEqual(await readSuperblock(e.scm!.scmMount), null);
  } finally {
    await f.cleanup();
  }
});

Deno.test("format: a vanished tmpfs (reboot) means AwaitFormat again", async () => {
  const f = await makeFormatFixture(1);
  try {
    const e = f.config.engines[0];
    await formatHostStorage(f.config, instances(f.config.engines), {
      reformat: false,
      replace: false,
    }, env(new FormatGate()));
    assert.equal(await needsFormat(e), null);
    await new Deno.Command("umount", { args: [e.scm!.scmMount] }).output();
    assert.equal(await needsFormat(e), "SCM format required on instance 0");
  } finally {
    await f.cleanup();
  }
});
