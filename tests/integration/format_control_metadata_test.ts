/** control_metadata.device: ext4 on a loop device, mounted at control_metadata.path. */
import assert from "node:assert/strict";
import { needsFormat, needsMetaFormat } from "../../control/storage/format_state.ts";
import { eraseControlMetadata, probeDevice } from "../../control/storage/control_metadata.ts";
import { findMount } from "../../control/storage/mounts.ts";
import { readSuperblock } from "../../control/storage/superblock.ts";
import {
  assertAllStatus,
  attachLoop,
  detachLoop,
  formatStopped,
  mdEngineYaml,
  sh,
  unmountBelow,
} from "./format_fixture.ts";
import { parseConfig } from "../util/config_fixtures.ts";

function mdConfig(dir: string, device: string) {
  return parseConfig(
    `provider: ofi+tcp
control_metadata:
  path: ${dir}/md
  device: ${device}
engines:
${mdEngineYaml(dir)}`,
    `${dir}/c.yml`,
  );
}

Deno.test("control_metadata.device: mkfs.ext4 keeps the label, mounted at path, remounted, erased", async () => {
  const dir = await Deno.makeTempDir({ prefix: "daos-format-cmdev-" });
  let loop = "";
  try {
    // Sparse backing file: 32 MiB apparent, nothing allocated until mkfs writes.
    loop = await attachLoop(dir, "32M");
    // An old filesystem with a label the format must keep.
    await sh("/usr/sbin/mkfs.ext4", "-q", "-F", "-L", "daosmd", loop);
    const cfg = mdConfig(dir, loop);
    const e = cfg.engines[0];
    assert.equal(await needsFormat(e), "Metadata format required on instance 0");

    const out = await formatStopped(cfg);
    assertAllStatus([...out.scm, ...out.bdevs], "CTL_SUCCESS", 2);
    const m = await findMount(`${dir}/md`);
    assert.equal(m?.fsType, "ext4");
    assert.equal(m?.source, loop);
    assert.deepEqual(await probeDevice(loop), { type: "ext4", label: "daosmd" });
    const sb = await readSuperblock(`${dir}/md/daos_control/engine0`);
    assert.notEqual(sb, null);
    assert.equal(await needsFormat(e), null);

    // Erase unmounts; the superblock lives on the device, not in the directory below it.
    await eraseControlMetadata(cfg.controlMetadata);
    assert.equal(await findMount(`${dir}/md`), null);
    assert.equal(await readSuperblock(`${dir}/md/daos_control/engine0`).catch(() => null), null);
    // A restart finds the formatted device, mounts it again and the superblock is back.
    assert.equal(await needsMetaFormat(e), false);
    assert.equal((await findMount(`${dir}/md`))?.fsType, "ext4");
    assert.deepEqual(await readSuperblock(`${dir}/md/daos_control/engine0`), sb);

    // --force reformats the device: a fresh filesystem, the old superblock gone before the new.
    await eraseControlMetadata(cfg.controlMetadata);
    await sh("/usr/sbin/wipefs", "-a", "-q", loop);
    assert.equal((await probeDevice(loop)).type, "");
    assert.equal(await needsFormat(e), "Metadata format required on instance 0");
    const again = await formatStopped(cfg, { reformat: true });
    assertAllStatus(again.scm, "CTL_SUCCESS", 1);
    assert.deepEqual(await probeDevice(loop), { type: "ext4", label: "" });
    assert.equal((await findMount(`${dir}/md`))?.source, loop);
  } finally {
    await unmountBelow(dir);
    await detachLoop(loop);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("control_metadata.device that is not a block device fails the format, naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "daos-format-cmbad-" });
  try {
    await Deno.writeTextFile(`${dir}/notadev`, "");
    for (
      const [dev, why] of [[`${dir}/notadev`, "is not a block device"], [
        `${dir}/missing`,
        "does not exist",
      ]]
    ) {
      const cfg = mdConfig(dir, dev);
      const out = await formatStopped(cfg);
      assert.equal(out.scm.length, 1);
      assert.equal(out.scm[0].status, "CTL_ERR_SCM");
      assert.equal(out.scm[0].error, `control_metadata.device ${dev} ${why}`);
      assert.equal(await findMount(`${dir}/md`), null);
    }
  } finally {
    await unmountBelow(dir);
    await Deno.remove(dir, { recursive: true });
  }
});
