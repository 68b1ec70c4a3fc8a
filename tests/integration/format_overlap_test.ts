/**
 * Format over storage areas that overlap only once symlinks are resolved (a bdev path or a
 * scm_mount reached through a link into another engine's tmpfs), and RAM-disk sizes checked
 * also when other engines keep their SCM. Real tmpfs in a temp dir; every mount under it is
 * removed in `finally`, also on failure.
 */
import assert from "node:assert/strict";
import type { ServerConfig } from "../../control/config/types.ts";
import { checkHardware, hostFacts } from "../../control/config/hardware_check.ts";
import { stoppedInstances } from "../../control/ctl/storage_format.ts";
import { formatHostStorage } from "../../control/storage/format.ts";
import { FormatGate } from "../../control/storage/format_state.ts";
import type { SysMemInfo } from "../../control/sysinfo/meminfo.ts";
import { eraseScm } from "../../control/storage/scm_format.ts";
import { findMount, parseMountInfo } from "../../control/storage/mounts.ts";
import { checkServerConfigText } from "../../control/config/load.ts";
import {
  bdevFileHazard,
  resolvedStorageOverlaps,
  scmMountHazard,
} from "../../control/storage/format_safety.ts";
import {
  engineYaml,
  fileTierYaml,
  LOCAL_SERVER_HEAD,
  parseConfig,
  ramTierYaml,
} from "../util/config_fixtures.ts";
import { assertAllStatus, inTempDir, layoutConfigText, sh } from "./format_fixture.ts";

/** Runs `body` in a fresh temp dir, cleaned up afterwards (see inTempDir). */
function inTemp(body: (dir: string) => Promise<void>): Promise<void> {
  return inTempDir("daos-overlap-", body);
}

function config(dir: string, engines: { scm: string; bdevs: string[] }[]): ServerConfig {
  return parseConfig(
    layoutConfigText(dir, engines.map((e) => ramTierYaml(e.scm) + fileTierYaml(e.bdevs)), true),
  );
}

async function mountsBelow(dir: string): Promise<string[]> {
  return parseMountInfo(await Deno.readTextFile("/proc/self/mountinfo"))
    .map((m) => m.mountPoint).filter((p) => p.startsWith(`${dir}/`));
}

/** Names of everything below `dir`, sorted (what format may have created or removed). */
async function tree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}${prefix}`)) {
    out.push(`${prefix}/${e.name}`);
    if (e.isDirectory) out.push(...await tree(dir, `${prefix}/${e.name}`));
  }
  return out.sort();
}

const BIG_MEM: SysMemInfo = {
  memTotalKb: 64 << 20,
  memFreeKb: 64 << 20,
  memAvailableKb: 64 << 20,
  hugepagesTotal: 0,
  hugepagesFree: 0,
  hugepagesReserved: 0,
  hugepagesSurplus: 0,
  hugepageSizeKb: 2048,
};

function format(cfg: ServerConfig, reformat = false, memInfo = BIG_MEM) {
  return formatHostStorage(cfg, stoppedInstances(cfg), { reformat, replace: false }, {
    hostname: "h",
    gate: new FormatGate(),
    memInfo,
  });
}

Deno.test("format refuses areas overlapping through a symlink, even with --force; nothing is mounted", async () => {
  await inTemp(async (dir) => {
    await Deno.symlink(dir, `${dir}/alias`); // dir/alias/scm0 is dir/scm0
    const layouts: [string, { scm: string; bdevs: string[] }[], RegExp][] = [
      [
        "engine 1's bdev inside engine 0's tmpfs (erase of 0 would delete it)",
        [{ scm: `${dir}/scm0`, bdevs: [`${dir}/b0`] }, {
          scm: `${dir}/scm1`,
          bdevs: [`${dir}/alias/scm0/b1`],
        }],
        /bdev_list ".*\/alias\/scm0\/b1" of engine 1 \(.*\/scm0\/b1\) lies inside scm_mount ".*\/scm0" of engine 0/,
      ],
      [
        "two engines on one tmpfs",
        [{ scm: `${dir}/scm0`, bdevs: [`${dir}/b0`] }, {
          scm: `${dir}/alias/scm0`,
          bdevs: [`${dir}/b1`],
        }],
        /scm_mount ".*\/alias\/scm0" of engine 1 \(.*\/scm0\) is the same path as scm_mount/,
      ],
    ];
    for (const [name, engines, re] of layouts) {
      const cfg = config(dir, engines);
      const before = await tree(dir);
      for (const force of [false, true]) {
        const out = await format(cfg, force);
        assertAllStatus(out.scm, "CTL_ERR_SCM", 2);
        for (const r of out.scm) {
          assert.match(r.error, /^storage format refused: /, name);
          assert.match(r.error, re, name);
          assert.match(r.error, /give every scm_mount, bdev file and control_metadata\.path/);
        }
        assert.deepEqual(out.bdevs, [], name);
        assert.deepEqual(await mountsBelow(dir), [], `${name}: nothing mounted`);
        assert.deepEqual(await tree(dir), before, `${name}: nothing created or removed`);
      }
      // config validate --hardware (and the start gate) report it at the later area's key.
      const problems = await checkHardware(cfg, await hostFacts());
      const p = problems.find((x) => re.test(x.message));
      assert.ok(p, `${name}: ${JSON.stringify(problems)}`);
      assert.equal(p.path[0], "engines");
      assert.equal(p.path[1], 1);
    }
  });
});

Deno.test("format checks a RAM-disk against memory also when another engine keeps its SCM", async () => {
  await inTemp(async (dir) => {
    const cfg = config(dir, [{ scm: `${dir}/scm0`, bdevs: [`${dir}/b0`] }, {
      scm: `${dir}/scm1`,
      bdevs: [`${dir}/b1`],
    }]);
    assertAllStatus((await format(cfg)).scm, "CTL_SUCCESS", 2);
    await eraseScm(cfg.engines[1]); // engine 1 needs format again, engine 0 keeps its tmpfs
    assert.equal(await findMount(`${dir}/scm1`), null);
    cfg.engines[1].scm!.scmSize = 1 << 20; // 1 PiB: tmpfs would accept it
    await assert.rejects(format(cfg), (e: Error & { code?: number }) => {
      assert.equal(e.code, 214);
      assert.match(e.message, /insufficient for creating ram-disks: need 1048576 GiB/);
      return true;
    });
    assert.equal(await findMount(`${dir}/scm1`), null, "no 1 PiB tmpfs was mounted");
    assert.notEqual(await findMount(`${dir}/scm0`), null, "engine 0's tmpfs untouched");
  });
});

Deno.test("a path through a symlink then .. is checked where the kernel puts it, not lexically", async () => {
  await inTemp(async (dir) => {
    // Check functions only: nothing is ever formatted at a system path.
    await Deno.symlink("/etc/ssl", `${dir}/link`); // link/.. is /etc, not dir
    const scm = await scmMountHazard(`${dir}/link/..`, true);
    assert.match(
      scm?.description ?? "none",
      /link\/\.\.: refusing to format a system path \(\/etc is a system directory, resolved as \/etc\)/,
    );
    const bdev = await bdevFileHazard(`${dir}/link/../passwd`, true);
    assert.match(
      bdev?.description ?? "none",
      /refusing to format a system path .*resolved as \/etc\/passwd/,
    );
    // Into another engine's tmpfs: a/l -> b/c, so a/l/../x is b/x, inside engine 0's b.
    await Deno.mkdir(`${dir}/a`);
    await Deno.mkdir(`${dir}/b/c`, { recursive: true });
    await Deno.symlink(`${dir}/b/c`, `${dir}/a/l`);
    const text = `${LOCAL_SERVER_HEAD.replace("engines:\n", "")}engines:\n` +
      engineYaml(ramTierYaml(`${dir}/b`) + fileTierYaml([`${dir}/b0`]), { port: 1 }) +
      engineYaml(ramTierYaml(`${dir}/s1`) + fileTierYaml([`${dir}/a/l/../x`]), { port: 2 });
    const checked = checkServerConfigText(text, "t.yml");
    assert.ok(checked.problems.some((p) => /has "\." or "\.\." components/.test(p.message)));
    const o = await resolvedStorageOverlaps(checked.config!);
    assert.equal(o.length, 1, JSON.stringify(o.map((x) => x.message)));
    assert.match(
      o[0].message,
      /a\/l\/\.\.\/x" of engine 1 \(.*\/b\/x\) lies inside scm_mount ".*\/b" of engine 0/,
    );
  });
});

Deno.test("scm_mount under a symlinked parent (/var/daos -> /data/daos): format, reformat and erase find their tmpfs", async () => {
  await inTemp(async (dir) => {
    await Deno.mkdir(`${dir}/real`);
    await Deno.symlink(`${dir}/real`, `${dir}/lnk`);
    const cfg = config(dir, [{ scm: `${dir}/lnk/scm0`, bdevs: [`${dir}/lnk/b0`] }]);
    const ours = async () =>
      parseMountInfo(await Deno.readTextFile("/proc/self/mountinfo"))
        .filter((m) => m.mountPoint === `${dir}/real/scm0`).length;
    assertAllStatus((await format(cfg)).scm, "CTL_SUCCESS", 1);
    assert.equal(await ours(), 1);
    assert.notEqual(await findMount(`${dir}/lnk/scm0`), null, "found through the link");
    const again = await format(cfg);
    assertAllStatus(again.scm, "CTL_ERR_SCM", 1);
    assert.match(again.scm[0].error, /existing filesystem signature/);
    assertAllStatus((await format(cfg, true)).scm, "CTL_SUCCESS", 1);
    assert.equal(await ours(), 1, "a reformat replaces the tmpfs, never stacks another");
    await eraseScm(cfg.engines[0]);
    assert.equal(await ours(), 0, "erase unmounts it");
  });
});

Deno.test("a symlink at scm_mount to a foreign mount: --force replaces the link, never unmounts the target", async () => {
  await inTemp(async (dir) => {
    await Deno.mkdir(`${dir}/foreign`);
    await sh("mount", "-t", "tmpfs", "-o", "size=8m", "foreignfs", `${dir}/foreign`);
    await Deno.writeTextFile(`${dir}/foreign/data`, "precious");
    await Deno.symlink(`${dir}/foreign`, `${dir}/scm0`);
    const cfg = config(dir, [{ scm: `${dir}/scm0`, bdevs: [`${dir}/b0`] }]);
    const refused = await format(cfg);
    assert.match(refused.scm[0]?.error ?? "", /is a symbolic link; format would replace it/);
    assertAllStatus((await format(cfg, true)).scm, "CTL_SUCCESS", 1);
    assert.equal(await Deno.readTextFile(`${dir}/foreign/data`), "precious");
    assert.equal((await findMount(`${dir}/foreign`))?.source, "foreignfs");
    assert.equal((await Deno.lstat(`${dir}/scm0`)).isDirectory, true);
  });
});

Deno.test("a bdev file with a second name (hard link) is never truncated, not even with --force", async () => {
  await inTemp(async (dir) => {
    await Deno.mkdir(`${dir}/etc`);
    await Deno.writeTextFile(`${dir}/etc/shadow`, "root:secret\n");
    await Deno.link(`${dir}/etc/shadow`, `${dir}/b0`);
    const cfg = config(dir, [{ scm: `${dir}/scm0`, bdevs: [`${dir}/b0`] }]);
    for (const force of [false, true]) {
      const f = await bdevFileHazard(`${dir}/b0`, force);
      assert.match(f?.description ?? "none", /b0 is a file with 2 names \(hard links\)/);
      const out = await format(cfg, force);
      assert.match(out.bdevs[0]?.error ?? "none", /2 names \(hard links\)/);
    }
    assert.equal(await Deno.readTextFile(`${dir}/etc/shadow`), "root:secret\n");
  });
});

Deno.test("a bdev file made for another engine (a second daos_server on the host) is not truncated without --force", async () => {
  await inTemp(async (dir) => {
    const a = config(dir, [{ scm: `${dir}/scmA`, bdevs: [`${dir}/shared`] }]);
    const b = config(dir, [{ scm: `${dir}/scmB`, bdevs: [`${dir}/shared`] }]);
    assertAllStatus((await format(a)).bdevs, "CTL_SUCCESS", 1);
    // Engine A's data after the header.
    const f = await Deno.open(`${dir}/shared`, { write: true });
    await f.seek(1 << 20, Deno.SeekMode.Start);
    await f.write(new TextEncoder().encode("engine A data"));
    f.close();
    const sum = async () => await sh("sh", "-c", `sha256sum '${dir}/shared' | cut -d' ' -f1`);
    const before = await sum();
    const out = await format(b);
    assertAllStatus(out.scm, "CTL_ERR_SCM", 1);
    assert.match(
      out.bdevs[0]?.error ?? "none",
      /shared is the AIO file of the engine with scm_mount .*\/scmA; format would truncate it/,
    );
    assert.equal(await sum(), before, "engine A's file untouched");
    assert.equal(await findMount(`${dir}/scmB`), null, "nothing of B formatted");
    // A re-formats its own file (after its SCM is gone) without --force.
    await eraseScm(a.engines[0]);
    assertAllStatus((await format(a)).bdevs, "CTL_SUCCESS", 1);
  });
});
