/** Format with a kdev (loop device) tier, MD-on-SSD control metadata, --replace, and erase. */
import assert from "node:assert/strict";
import { FormatGate, needsFormat } from "../../control/storage/format_state.ts";
import { findMount } from "../../control/storage/mounts.ts";
import { eraseScm } from "../../control/storage/scm_format.ts";
import { readSuperblock } from "../../control/storage/superblock.ts";
import { isFault } from "../../control/lib/fault.ts";
import {
  assertAllStatus,
  attachLoop,
  detachLoop,
  formatStopped,
  mdEngineYaml,
  unmountBelow,
} from "./format_fixture.ts";
import { engineYaml, parseConfig, ramTierYaml } from "../util/config_fixtures.ts";

Deno.test("kdev tier on a loop device formats; a character device as kdev fails per device", async () => {
  const dir = await Deno.makeTempDir({ prefix: "daos-format-kdev-" });
  let loop = "";
  try {
    loop = await attachLoop(dir, "64M");
    const text = (dev: string) =>
      `provider: ofi+tcp
engines:
${engineYaml(ramTierYaml(`${dir}/scm0`) + `      - class: kdev\n        bdev_list: [${dev}]\n`)}`;
    const cfg = parseConfig(text(loop), `${dir}/c.yml`);
    const out = await formatStopped(cfg);
    assert.deepEqual(out.bdevs.map((b) => [b.device, b.status]), [[loop, "CTL_SUCCESS"]]);
    const conf = JSON.parse(await Deno.readTextFile(`${dir}/scm0/daos_nvme.conf`));
    assert.deepEqual(conf.subsystems[0].config[2].params, {
      block_size: 0,
      name: "AIO_h_0_1_0",
      filename: loop,
    });

    // /dev/null is a character device, not a block device.
    const bad = parseConfig(text("/dev/null"), `${dir}/c.yml`);
    const out2 = await formatStopped(bad, { reformat: true });
    assert.equal(out2.bdevs[0].status, "CTL_ERR_NVME");
    assert.match(out2.bdevs[0].error, /kdev \/dev\/null is not a block device/);
    assert.equal(await readSuperblock(`${dir}/scm0`), null);
  } finally {
    await detachLoop(loop);
    await unmountBelow(dir);
    await Deno.remove(dir, { recursive: true });
  }
});

/** One MD-on-SSD engine (metadata under `<dir>/md`) rooted at `dir`. */
function mdOnSsdConfig(dir: string) {
  return parseConfig(
    `provider: ofi+tcp
control_metadata:
  path: ${dir}/md
engines:
${mdEngineYaml(dir)}`,
    `${dir}/c.yml`,
  );
}

Deno.test("MD-on-SSD: superblock and daos_nvme.conf under control_metadata; --replace rules; erase", async () => {
  const dir = await Deno.makeTempDir({ prefix: "daos-format-md-" });
  try {
    const cfg = mdOnSsdConfig(dir);
    const e = cfg.engines[0];
    assert.equal(await needsFormat(e), "Metadata format required on instance 0");
    const out = await formatStopped(cfg);
    assertAllStatus([...out.scm, ...out.bdevs], "CTL_SUCCESS", 2);
    assert.equal(out.bdevs[0].roleBits, 7);
    const mdDir = `${dir}/md/daos_control/engine0`;
    assert.notEqual(await readSuperblock(mdDir), null);
    assert.ok((await Deno.stat(`${mdDir}/daos_nvme.conf`)).isFile);
    assert.equal((await findMount(`${dir}/scm0`))?.fsType, "tmpfs");

    // With metadata formatted and SCM mounted, --replace has nothing to replace... except that
    // MD-on-SSD always re-creates the tmpfs, so it is accepted (reference §3.2 step 2).
    const rep = await formatStopped(cfg, { replace: true });
    assertAllStatus(rep.scm, "CTL_SUCCESS", 1);

    await eraseScm(e);
    assert.equal(await findMount(`${dir}/scm0`), null);
  } finally {
    await unmountBelow(dir);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--replace with no instance needing format is refused with the reference text", async () => {
  const dir = await Deno.makeTempDir({ prefix: "daos-format-rep-" });
  try {
    const cfg = parseConfig(
      `provider: ofi+tcp
engines:
${engineYaml(ramTierYaml(`${dir}/scm0`))}`,
      `${dir}/c.yml`,
    );
    await formatStopped(cfg);
    const e = await formatStopped(cfg, { replace: true })
      .then(() => null, (x: unknown) => x);
    assert(isFault(e));
    assert.match(
      e.description,
      /format replace option only valid if at least one engine requires scm-format/,
    );
    // After a "reboot" (tmpfs gone) replace is accepted and the waiter learns replace=true.
    await unmountBelow(dir);
    const gate = new FormatGate();
    const waiting = gate.awaitFormat(0);
    await formatStopped(cfg, { replace: true }, gate);
    assert.deepEqual(await waiting, { replace: true });
  } finally {
    await unmountBelow(dir);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MD-on-SSD: a corrupt superblock is reported, never replaced by a new identity without --force", async () => {
  const dir = await Deno.makeTempDir({ prefix: "daos-format-corrupt-" });
  try {
    const cfg = mdOnSsdConfig(dir);
    const first = await formatStopped(cfg);
    assertAllStatus([...first.scm, ...first.bdevs], "CTL_SUCCESS", 2);
    const sbPath = `${dir}/md/daos_control/engine0/superblock`;
    await Deno.writeTextFile(sbPath, "version: [not a superblock\n");
    // A reboot: the tmpfs is gone, the metadata (with the damaged superblock) stays.
    await unmountBelow(`${dir}/scm0`);
    const out = await formatStopped(cfg);
    const errors = [...out.scm, ...out.bdevs].filter((r) => r.status !== "CTL_SUCCESS");
    assert.ok(
      errors.length > 0,
      `format over a corrupt superblock succeeded: ${JSON.stringify(out)}`,
    );
    assert.ok(
      errors.some((r) => /superblock .* is corrupt/.test(r.error)),
      JSON.stringify(errors),
    );
    assert.equal(await Deno.readTextFile(sbPath), "version: [not a superblock\n");
  } finally {
    await unmountBelow(dir);
    await Deno.remove(dir, { recursive: true });
  }
});
