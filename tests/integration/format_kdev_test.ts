/**
 * class kdev hands a whole block device to an engine: format must refuse a device that is
 * mounted (itself or a partition) even with --force, and one holding a filesystem without it;
 * a blank device passes. Real loop devices in a temp dir; each mount and loop device is
 * removed in `finally`, also on failure.
 */
import assert from "node:assert/strict";
import { checkHardware, hostFacts } from "../../control/config/hardware_check.ts";
import type { ServerConfig } from "../../control/config/types.ts";
import { engineFormatHazards, kdevHazard } from "../../control/storage/format_safety.ts";
import { parseConfig, ramTierYaml } from "../util/config_fixtures.ts";
import {
  assertAllStatus,
  attachLoop,
  detachLoop,
  formatStopped,
  layoutConfigText,
  sh,
  unmountBelow,
} from "./format_fixture.ts";

function config(dir: string, kdev: string): ServerConfig {
  return parseConfig(layoutConfigText(dir, [
    ramTierYaml(`${dir}/scm0`) + `      - class: kdev\n        bdev_list: [${kdev}]\n`,
  ], true));
}

/** sha256 of the first MiB of a device (where a filesystem keeps its superblocks). */
async function headSum(dev: string): Promise<string> {
  return await sh("sh", "-c", `head -c 1048576 ${dev} | sha256sum`);
}

async function withLoop(body: (dir: string, loop: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "daos-kdev-" });
  let loop = "";
  try {
    loop = await attachLoop(dir, "64M");
    await body(dir, loop);
  } finally {
    await unmountBelow(dir);
    await detachLoop(loop);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("kdev: a blank device passes; one holding ext4 is refused without --force, unchanged", async () => {
  await withLoop(async (dir, loop) => {
    const cfg = config(dir, loop);
    assert.equal(await kdevHazard(loop, false), null, "blank device");
    await sh("/usr/sbin/mkfs.ext4", "-q", "-F", loop);
    const before = await headSum(loop);
    const h = await engineFormatHazards(cfg.engines[0], false);
    assert.equal(h.length, 1, JSON.stringify(h));
    assert.match(
      h[0].fault.description,
      new RegExp(`bdev_list ${loop} \\(class kdev\\) holds a ext4 filesystem not written by`),
    );
    assert.match(h[0].fault.resolution, /wipefs -a .*--force/);
    const out = await formatStopped(cfg);
    assertAllStatus(out.scm, "CTL_ERR_SCM", 1);
    assertAllStatus(out.bdevs, "CTL_ERR_NVME", 1);
    assert.match(out.bdevs[0].error, /holds a ext4 filesystem/);
    assert.equal(await headSum(loop), before, "the filesystem is untouched");
    // config validate --hardware names it at the tier's bdev_list.
    const p = (await checkHardware(cfg, await hostFacts())).find((x) => /ext4/.test(x.message));
    assert.deepEqual(p?.path, ["engines", 0, "storage", 1, "bdev_list"]);
    // --force: the admin accepts losing it.
    assert.equal(await kdevHazard(loop, true), null);
  });
});

Deno.test("kdev: a mounted device is refused even with --force", async () => {
  await withLoop(async (dir, loop) => {
    await sh("/usr/sbin/mkfs.ext4", "-q", "-F", loop);
    await Deno.mkdir(`${dir}/mnt`);
    await sh("mount", loop, `${dir}/mnt`);
    await Deno.writeTextFile(`${dir}/mnt/data`, "precious");
    const cfg = config(dir, loop);
    for (const force of [false, true]) {
      const f = await kdevHazard(loop, force);
      assert.match(f?.description ?? "", /\(class kdev\) mounted at .*\/mnt; an engine would/);
      const out = await formatStopped(cfg, { reformat: force });
      assertAllStatus(out.scm, "CTL_ERR_SCM", 1);
      assert.match(out.bdevs[0]?.error ?? "", /mounted at/);
    }
    assert.equal(await Deno.readTextFile(`${dir}/mnt/data`), "precious");
  });
});
