/**
 * Format over hostile storage layouts (issue 15 items 3, 4): real tmpfs, bind mounts and loop
 * devices in a temp dir. Victim data is checksummed before and after: nothing without our
 * signature may change unless --force, system paths never. Every mount and loop device is
 * removed in `finally`, also on failure.
 */
import assert from "node:assert/strict";
import type { ServerConfig } from "../../control/config/types.ts";
import { checkHardware, hostFacts } from "../../control/config/hardware_check.ts";
import { loadServerConfigForStart } from "../../control/config/validate_command.ts";
import { prepareBdevFile } from "../../control/storage/bdev_format.ts";
import type { FormatOutcome } from "../../control/storage/format.ts";
import {
  BDEV_MAGIC,
  bdevFileHazard,
  engineFormatHazards,
  hasBdevMagic,
  scmMountHazard,
} from "../../control/storage/format_safety.ts";
import { FormatGate, needsFormat, type StorageReady } from "../../control/storage/format_state.ts";
import { eraseScm } from "../../control/storage/scm_format.ts";
import { findMount, SCM_TMPFS_SOURCE } from "../../control/storage/mounts.ts";
import { readSuperblock } from "../../control/storage/superblock.ts";
import {
  engineYaml,
  fileTierYaml,
  LOCAL_SERVER_HEAD,
  parseConfig,
  ramTierYaml,
} from "../util/config_fixtures.ts";
import {
  assertAllStatus,
  attachLoop,
  detachLoop,
  formatStopped,
  inTempDir,
  layoutConfigText,
  sh,
} from "./format_fixture.ts";

/** A gate that counts storageReady calls (an instance that would join). */
class CountingGate extends FormatGate {
  ready: number[] = [];
  override storageReady(idx: number, r: StorageReady): boolean {
    this.ready.push(idx);
    return super.storageReady(idx, r);
  }
}

/** Runs `body` in a fresh temp dir, cleaned up afterwards (see inTempDir). */
function inTemp(body: (dir: string) => Promise<void>): Promise<void> {
  return inTempDir("daos-hostile-", body);
}

/** Config text of engines (scm_mount, file bdevs of `size` GiB). */
function configText(dir: string, engines: { scm: string; bdevs: string[] }[], size = 1): string {
  return layoutConfigText(
    dir,
    engines.map((e) => ramTierYaml(e.scm) + fileTierYaml(e.bdevs, size)),
  );
}

/** {@link configText} parsed without problems. */
function config(dir: string, engines: { scm: string; bdevs: string[] }[], size = 1): ServerConfig {
  return parseConfig(configText(dir, engines, size));
}

/** A checksum of everything at `path` (type, mode, content; directories recursively). */
async function treeSum(path: string): Promise<string> {
  const st = await Deno.lstat(path).catch(() => null);
  if (st === null) return "absent";
  if (st.isSymlink) return `link:${await Deno.readLink(path)}`;
  if (st.isDirectory) {
    const names: string[] = [];
    for await (const d of Deno.readDir(path)) names.push(d.name);
    names.sort();
    const parts = [`dir:${st.mode! & 0o7777}`];
    for (const n of names) parts.push(`${n}=${await treeSum(`${path}/${n}`)}`);
    return await sha(new TextEncoder().encode(parts.join("\n")));
  }
  if (st.isBlockDevice) {
    // The first MiB of a block device (the loop devices here are small).
    const f = await Deno.open(path, { read: true });
    try {
      const buf = new Uint8Array(1 << 20);
      let got = 0;
      while (got < buf.length) {
        const n = await f.read(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      return `blk:${await sha(buf.subarray(0, got))}`;
    } finally {
      f.close();
    }
  }
  return `file:${st.mode! & 0o7777}:${st.size}:${await sha(await Deno.readFile(path))}`;
}

async function sha(data: Uint8Array): Promise<string> {
  const h = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(h)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Random victim bytes. */
function junk(n = 4096): Uint8Array {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return b;
}

/** A tmpfs "store" at `dir/store` holding `sub/data`: a bind source off the root filesystem. */
async function storeWithData(dir: string): Promise<string> {
  await Deno.mkdir(`${dir}/store`);
  await sh("mount", "-t", "tmpfs", "-o", "size=8m", "victimstore", `${dir}/store`);
  await Deno.mkdir(`${dir}/store/sub`);
  await Deno.writeFile(`${dir}/store/sub/data`, junk());
  return `${dir}/store/sub`;
}

function scmErrors(out: FormatOutcome): string[] {
  assert.ok(out.scm.length > 0, "format returned no SCM results");
  return out.scm.map((r) => `${r.status} ${r.error}`);
}

Deno.test("scm_mount on a regular file: refused and unchanged without --force, replaced with it", async () => {
  await inTemp(async (dir) => {
    const scm = `${dir}/scmfile`;
    await Deno.writeFile(scm, junk());
    const cfg = config(dir, [{ scm, bdevs: [`${dir}/bdev0`] }]);
    const before = await treeSum(dir);
    const gate = new CountingGate();
    const out = await formatStopped(cfg, {}, gate);
    assert.equal(out.scm.length, 1);
    assert.equal(out.scm[0].status, "CTL_ERR_SCM");
    assert.match(out.scm[0].error, /scmfile is a regular file \(4096 bytes\).*--force/);
    assert.equal(await treeSum(dir), before, "nothing in the temp dir may change");
    assert.deepEqual(gate.ready, []);

    const forced = await formatStopped(cfg, { reformat: true }, gate);
    assert.deepEqual(scmErrors(forced), ["CTL_SUCCESS "]);
    assert.equal((await findMount(scm))?.source, SCM_TMPFS_SOURCE);
    assert.deepEqual(gate.ready, [0]);
  });
});

Deno.test("scm_mount on a bind mount holding data: refused without --force; --force unmounts only the bind", async () => {
  await inTemp(async (dir) => {
    const src = await storeWithData(dir);
    const scm = `${dir}/scm0`;
    await Deno.mkdir(scm);
    await sh("mount", "--bind", src, scm);
    const cfg = config(dir, [{ scm, bdevs: [`${dir}/bdev0`] }]);
    const before = await treeSum(scm);
    const out = await formatStopped(cfg);
    assert.match(
      scmErrors(out)[0],
      /^CTL_ERR_SCM .*scm0 is a mount point of tmpfs "victimstore".*--force/,
    );
    assert.equal((await findMount(scm))?.source, "victimstore", "the bind mount stays");
    assert.equal(await treeSum(scm), before);
    assert.equal(await treeSum(`${dir}/bdev0`), "absent", "no bdev was made either");

    const forced = await formatStopped(cfg, { reformat: true });
    assert.deepEqual(scmErrors(forced), ["CTL_SUCCESS "]);
    assert.equal((await findMount(scm))?.source, SCM_TMPFS_SOURCE);
    // Unmounting a bind destroys nothing: the data is still in its source.
    assert.equal(await treeSum(src), before);
  });
});

Deno.test("scm_mount on a foreign tmpfs or a non-empty directory: refused and unchanged without --force", async () => {
  await inTemp(async (dir) => {
    const tmpfs = `${dir}/scm0`;
    await Deno.mkdir(tmpfs);
    await sh("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", tmpfs);
    await Deno.writeFile(`${tmpfs}/data`, junk());
    const full = `${dir}/scm1`;
    await Deno.mkdir(full);
    await Deno.writeFile(`${full}/data`, junk());
    const cfg = config(dir, [
      { scm: tmpfs, bdevs: [`${dir}/bdev0`] },
      { scm: full, bdevs: [`${dir}/bdev1`] },
    ]);
    const before = await treeSum(dir);
    const out = await formatStopped(cfg);
    const errs = scmErrors(out);
    assert.match(errs[0], /scm0 is a mount point of tmpfs "tmpfs" not created by daos_server/);
    assert.match(errs[1], /scm1 is a directory holding 1 entries; the tmpfs would hide them/);
    assert.equal(await treeSum(dir), before);
    assert.equal((await findMount(tmpfs))?.source, "tmpfs");
    assert.equal(await findMount(full), null);
  });
});

Deno.test("system paths are refused even with --force: a symlink to /etc, a bind of the root filesystem", async () => {
  await inTemp(async (dir) => {
    // A symlink resolving into /etc passes the lexical config check; format resolves it.
    await Deno.symlink("/etc", `${dir}/etc-link`);
    // A bind mount of a root-filesystem directory (/tmp is on it here) is never unmounted.
    await Deno.mkdir(`${dir}/rootdata`);
    await Deno.writeFile(`${dir}/rootdata/data`, junk());
    await Deno.mkdir(`${dir}/scm1`);
    const rootDev = (await findMount("/"))?.dev;
    const tmpDev = await sh("stat", "-c", "%d", dir);
    await sh("mount", "--bind", `${dir}/rootdata`, `${dir}/scm1`);
    const bindDev = (await findMount(`${dir}/scm1`))?.dev;
    const cfg = config(dir, [
      { scm: `${dir}/etc-link`, bdevs: [`${dir}/bdev0`] },
      { scm: `${dir}/scm1`, bdevs: [`${dir}/bdev1`] },
    ]);
    const before = await treeSum(dir);
    const etc = await findMount("/etc");
    const out = await formatStopped(cfg, { reformat: true });
    const errs = scmErrors(out);
    assert.match(errs[0], /refusing to format a system path \(\/etc is a system directory/);
    assert.match(errs[0], /resolved as \/etc/);
    if (rootDev !== undefined && rootDev === bindDev) {
      assert.match(errs[1], /scm1 is a mount point of the root filesystem/);
    } else {
      // /tmp is not on the root filesystem on this host (tmpDev for the record).
      assert.ok(errs[1].startsWith("CTL_ERR_SCM"), `${errs[1]} (dev ${tmpDev})`);
    }
    assert.equal(await treeSum(dir), before);
    assert.deepEqual(await findMount("/etc"), etc);
    assert.equal((await findMount(`${dir}/scm1`))?.dev, bindDev);
  });
});

Deno.test("system paths are refused even with --force: / as scm_mount, /etc/passwd as a bdev", async () => {
  // Only the checks are run on the real system paths (never a format), so a regression
  // cannot harm the host; the flow's use of the same checks is covered above.
  const root = await scmMountHazard("/", true);
  assert.match(root?.description ?? "", /scm_mount \/: refusing to format a system path/);
  assert.match(root?.resolution ?? "", /dedicated directory such as \/mnt\/daos0/);
  for (const p of ["/etc", "/usr", "/usr/lib/x", "/var", "/tmp", "/dev/shm", "//etc/../usr"]) {
    assert.ok(await scmMountHazard(p, true), p);
  }
  const passwd = await bdevFileHazard("/etc/passwd", true);
  assert.match(
    passwd?.description ?? "",
    /bdev_list \/etc\/passwd: refusing to format a system path/,
  );
  assert.equal(await scmMountHazard("/mnt/daos-not-there-xyz", false), null);
});

Deno.test("a bdev file holding data is refused without --force, replaced with it; ours needs no --force", async () => {
  await inTemp(async (dir) => {
    const data = `${dir}/bdev0`;
    await Deno.writeFile(data, junk(8192));
    const cfg = config(dir, [{ scm: `${dir}/scm0`, bdevs: [data, `${dir}/bdev1`] }]);
    const before = await treeSum(dir);
    const gate = new CountingGate();
    const out = await formatStopped(cfg, {}, gate);
    assert.match(scmErrors(out)[0], /^CTL_ERR_SCM instance 0: storage format refused, a bdev/);
    assert.equal(out.bdevs.length, 1);
    assert.equal(out.bdevs[0].device, data);
    assert.match(out.bdevs[0].error, /holding 8192 bytes not written by daos_server.*--force/);
    assert.equal(await treeSum(dir), before, "no mount point, no bdev, no data changed");
    assert.equal(await findMount(`${dir}/scm0`), null);
    assert.deepEqual(gate.ready, []);

    const forced = await formatStopped(cfg, { reformat: true }, gate);
    assert.deepEqual(scmErrors(forced), ["CTL_SUCCESS "]);
    assert.ok(forced.bdevs.length === 2 && forced.bdevs.every((b) => b.status === "CTL_SUCCESS"));
    for (const b of [data, `${dir}/bdev1`]) {
      assert.equal((await Deno.stat(b)).size, 1 << 30);
      assert.ok(await hasBdevMagic(b), b);
    }
    // Our files (and our tmpfs) are reformatted again without question only with --force
    // (already formatted), and the forced reformat keeps working over our own signature.
    const again = await formatStopped(cfg, { reformat: true }, gate);
    assert.deepEqual(scmErrors(again), ["CTL_SUCCESS "]);
    assert.deepEqual(gate.ready, [0, 0]);
  });
});

Deno.test("bdev paths that are not regular files are refused even with --force and unchanged", async () => {
  let loop = "";
  await inTemp(async (dir) => {
    await Deno.mkdir(`${dir}/adir`);
    await Deno.writeFile(`${dir}/adir/data`, junk());
    await Deno.writeFile(`${dir}/target`, junk());
    await Deno.symlink(`${dir}/target`, `${dir}/alink`);
    loop = await attachLoop(dir, "4M");
    await sh("dd", "if=/dev/urandom", `of=${loop}`, "bs=64k", "count=16", "status=none");
    const devices = [`${dir}/adir`, `${dir}/alink`, loop];
    const loopBefore = await treeSum(loop);
    const hazards = await engineFormatHazards(
      config(dir, [{ scm: `${dir}/scm0`, bdevs: [`${dir}/ok`] }]).engines[0],
      true,
    );
    assert.deepEqual(hazards, [], "a plain new path is fine");
    for (const d of devices) {
      const f = await bdevFileHazard(d, true);
      assert.ok(f, `${d} must be refused`);
    }
    assert.match((await bdevFileHazard(loop, true))!.resolution, /class kdev/);
    // The flow: a config cannot list /dev paths for class file, so the loop is checked above;
    // the directory and the symlink go through a forced format.
    const cfg = config(dir, [{ scm: `${dir}/scm0`, bdevs: devices.slice(0, 2) }]);
    const before = await treeSum(dir);
    const out = await formatStopped(cfg, { reformat: true });
    assert.equal(out.bdevs.length, 2);
    assert.ok(out.bdevs.every((b) => b.status === "CTL_ERR_NVME"), JSON.stringify(out.bdevs));
    assert.equal(await treeSum(dir), before);
    assert.equal(await treeSum(loop), loopBefore);
  }).finally(() => detachLoop(loop));
});

Deno.test("a bdev on a full filesystem is a format error naming device, size and space; nothing left", async () => {
  await inTemp(async (dir) => {
    await Deno.mkdir(`${dir}/small`);
    await sh("mount", "-t", "tmpfs", "-o", "size=64m", "smallfs", `${dir}/small`);
    const bdev = `${dir}/small/bdev0`;
    const cfg = config(dir, [{ scm: `${dir}/scm0`, bdevs: [bdev] }]);
    const gate = new CountingGate();
    const before = await treeSum(dir);
    const out = await formatStopped(cfg, {}, gate);
    assert.equal(out.bdevs.length, 1);
    assert.equal(out.bdevs[0].status, "CTL_ERR_NVME");
    assert.match(scmErrors(out)[0], /^CTL_ERR_SCM instance 0: storage format refused, a bdev/);
    // Checked before anything: SCM is not left formatted without its bdevs.
    assert.equal(await treeSum(dir), before);
    assert.equal(await findMount(`${dir}/scm0`), null);
    assert.match(
      out.bdevs[0].error,
      /AIO file .*small\/bdev0 \(1 GiB\) failed: not enough space: 1073741824 bytes \(1\.00 GiB\) asked for, \d+ bytes \(0\.06 GiB\) available in .*small/,
    );
    assert.equal(await treeSum(bdev), "absent");
    assert.deepEqual(gate.ready, [], "the rank must not join");
    assert.equal(await readSuperblock(`${dir}/scm0`), null);

    // fallocate's own ENOSPC (free space misreported) is an error too, and the half-made
    // file is removed.
    const err = await prepareBdevFile(bdev, 1, false, {
      availBytes: () => Promise.resolve(2 ** 40),
    })
      .then(() => null, (e: unknown) => e as Error);
    assert.match(err?.message ?? "", /No space left on device/);
    assert.equal(await treeSum(bdev), "absent");
  });
});

Deno.test("a hazard on one instance leaves every instance of the host untouched", async () => {
  await inTemp(async (dir) => {
    await Deno.writeFile(`${dir}/bdev1`, junk());
    const cfg = config(dir, [
      { scm: `${dir}/scm0`, bdevs: [`${dir}/bdev0`] },
      { scm: `${dir}/scm1`, bdevs: [`${dir}/bdev1`] },
    ]);
    const before = await treeSum(dir);
    const out = await formatStopped(cfg);
    const errs = scmErrors(out);
    assert.equal(errs.length, 2);
    assert.match(errs[0], /instance 0: storage format refused, storage of instance 1 is not safe/);
    assert.equal(await treeSum(dir), before);
    assert.equal(await findMount(`${dir}/scm0`), null);
  });
});

Deno.test("config validate --hardware reports each format hazard with its fix", async () => {
  await inTemp(async (dir) => {
    await Deno.writeFile(`${dir}/scmfile`, junk());
    await Deno.writeFile(`${dir}/bdev0`, junk());
    await Deno.mkdir(`${dir}/small`);
    await sh("mount", "-t", "tmpfs", "-o", "size=64m", "smallfs", `${dir}/small`);
    const cfg = config(dir, [{ scm: `${dir}/scmfile`, bdevs: [`${dir}/bdev0`, `${dir}/small/b`] }]);
    const problems = await checkHardware(cfg, await hostFacts());
    const find = (re: RegExp) => problems.find((p) => re.test(p.message));
    const scm = find(/scmfile is a regular file/);
    assert.deepEqual(scm?.path, ["engines", 0, "storage", 0, "scm_mount"]);
    assert.match(scm?.resolution ?? "", /--force/);
    const data = find(/bdev0 is a file holding 4096 bytes not written by daos_server/);
    assert.deepEqual(data?.path, ["engines", 0, "storage", 1, "bdev_list"]);
    assert.match(data?.resolution ?? "", /move the file away/);
    const space = find(/small\/b: bdev_size 1 GiB \(1073741824 bytes\) is more than the \d+ bytes/);
    assert.match(space?.resolution ?? "", /lower bdev_size/);
  });
});

Deno.test("property: random hostile layouts — without --force nothing changes unless format succeeds on ours", async () => {
  // Each slot (scm_mount or a bdev path) gets a random layout; victims are checksummed. Format
  // without --force must either leave the whole temp dir unchanged, or (all slots safe)
  // succeed. Seeded, so a failure names a reproducible case.
  let seed = 0x5eed;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const scmKinds = ["absent", "emptydir", "datadir", "file", "symlink", "foreigntmpfs", "bind"];
  const bdevKinds = ["absent", "empty", "data", "dir", "symlink"];
  for (let round = 0; round < 10; round++) {
    const kinds = { scm: scmKinds[rnd(scmKinds.length)], bdev: bdevKinds[rnd(bdevKinds.length)] };
    await inTemp(async (dir) => {
      const scm = `${dir}/scm0`;
      const bdev = `${dir}/bdev0`;
      switch (kinds.scm) {
        case "emptydir":
          await Deno.mkdir(scm);
          break;
        case "datadir":
          await Deno.mkdir(scm);
          await Deno.writeFile(`${scm}/d`, junk());
          break;
        case "file":
          await Deno.writeFile(scm, junk());
          break;
        case "symlink":
          await Deno.writeFile(`${dir}/victim`, junk());
          await Deno.symlink(`${dir}/victim`, scm);
          break;
        case "foreigntmpfs":
          await Deno.mkdir(scm);
          await sh("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", scm);
          await Deno.writeFile(`${scm}/d`, junk());
          break;
        case "bind":
          await Deno.mkdir(scm);
          await sh("mount", "--bind", await storeWithData(dir), scm);
      }
      switch (kinds.bdev) {
        case "empty":
          await Deno.writeFile(bdev, new Uint8Array());
          break;
        case "data":
          await Deno.writeFile(bdev, junk());
          break;
        case "dir":
          await Deno.mkdir(bdev);
          await Deno.writeFile(`${bdev}/d`, junk());
          break;
        case "symlink":
          await Deno.writeFile(`${dir}/bvictim`, junk());
          await Deno.symlink(`${dir}/bvictim`, bdev);
      }
      const safe = ["absent", "emptydir"].includes(kinds.scm) &&
        ["absent", "empty"].includes(kinds.bdev);
      const cfg = config(dir, [{ scm, bdevs: [bdev] }]);
      const before = await treeSum(dir);
      const out = await formatStopped(cfg);
      const why = `round ${round} ${JSON.stringify(kinds)}: ${JSON.stringify(out)}`;
      if (safe) {
        assert.deepEqual(scmErrors(out), ["CTL_SUCCESS "], why);
        assert.equal(out.bdevs[0]?.status, "CTL_SUCCESS", why);
        assert.ok(await hasBdevMagic(bdev), why);
      } else {
        assert.equal(out.scm[0]?.status, "CTL_ERR_SCM", why);
        assert.equal(await treeSum(dir), before, why);
      }
    });
  }
});

Deno.test("the bdev signature is the magic at offset 0 of a file we made", async () => {
  await inTemp(async (dir) => {
    await prepareBdevFile(`${dir}/b`, 1);
    const f = await Deno.open(`${dir}/b`, { read: true });
    const buf = new Uint8Array(32);
    await f.read(buf);
    f.close();
    const head = new TextDecoder().decode(buf);
    assert.ok(head.startsWith(BDEV_MAGIC));
    assert.equal(await bdevFileHazard(`${dir}/b`, false), null);
    await Deno.writeFile(`${dir}/c`, new TextEncoder().encode(BDEV_MAGIC.slice(0, 8)));
    assert.ok(await bdevFileHazard(`${dir}/c`, false), "a prefix of the magic is not ours");
  });
});

/** An MD-on-SSD config: control_metadata on `device` mounted at `dir/md`. */
function mdConfig(dir: string, device: string): ServerConfig {
  return parseConfig(
    `${LOCAL_SERVER_HEAD.replace("engines:\n", "")}socket_dir: ${dir}
control_metadata:
  path: ${dir}/md
  device: ${device}
engines:
${
      engineYaml(
        ramTierYaml(`${dir}/scm0`) + fileTierYaml([`${dir}/bdev0`], 1, ["wal", "meta", "data"]),
      )
    }`,
  );
}

Deno.test("control_metadata.device holding data (ext4 with files, swap) is refused without --force; in use never", async () => {
  let loop = "";
  await inTemp(async (dir) => {
    loop = await attachLoop(dir, "32M");
    await sh("/usr/sbin/mkfs.ext4", "-q", "-F", loop);
    await Deno.mkdir(`${dir}/peek`);
    await sh("mount", loop, `${dir}/peek`);
    await Deno.writeFile(`${dir}/peek/precious`, junk());
    await sh("umount", `${dir}/peek`);
    const cfg = mdConfig(dir, loop);
    // The whole backing file of the loop device is in the temp dir's checksum.
    const before = await treeSum(dir);
    const out = await formatStopped(cfg);
    assert.match(
      scmErrors(out)[0],
      /^CTL_ERR_SCM control_metadata\.device .* holds an ext4 filesystem with data not written by daos_server \(precious\).*--force/,
    );
    assert.equal(await treeSum(dir), before);
    assert.equal(await findMount(`${dir}/md`), null);

    // In use elsewhere: refused even with --force, still mounted there.
    await sh("mount", loop, `${dir}/peek`);
    const busy = await formatStopped(cfg, { reformat: true });
    assert.match(
      scmErrors(busy)[0],
      /is mounted at .*peek; format never reformats a device in use/,
    );
    assert.equal((await findMount(`${dir}/peek`))?.source, loop);
    await sh("umount", `${dir}/peek`);

    // Another filesystem type (swap here) is not ours either.
    await sh("/usr/sbin/mkswap", "-q", loop);
    const swapBefore = await treeSum(dir);
    const swap = await formatStopped(cfg);
    assert.match(scmErrors(swap)[0], /holds a swap filesystem not made by daos_server/);
    assert.equal(await treeSum(dir), swapBefore);

    // --force formats it.
    const forced = await formatStopped(cfg, { reformat: true });
    assert.deepEqual(scmErrors(forced), ["CTL_SUCCESS "]);
    assert.equal((await findMount(`${dir}/md`))?.source, loop);
  }).finally(() => detachLoop(loop));
});

Deno.test("control_metadata.path on a foreign mount is refused without --force and stays mounted", async () => {
  let loop = "";
  await inTemp(async (dir) => {
    loop = await attachLoop(dir, "32M");
    await Deno.mkdir(`${dir}/md`);
    await sh("mount", "-t", "tmpfs", "-o", "size=4m", "othertmpfs", `${dir}/md`);
    await Deno.writeFile(`${dir}/md/precious`, junk());
    const before = await treeSum(dir);
    const out = await formatStopped(mdConfig(dir, loop));
    assert.match(
      scmErrors(out)[0],
      /control_metadata\.path .*md is a mount point of tmpfs "othertmpfs", not of .*; format would unmount it/,
    );
    assert.equal(await treeSum(dir), before);
    assert.equal((await findMount(`${dir}/md`))?.source, "othertmpfs");
  }).finally(() => detachLoop(loop));
});

Deno.test("a foreign tmpfs at scm_mount is not the engine's storage: format needed, erase leaves it", async () => {
  await inTemp(async (dir) => {
    const scm = `${dir}/scm0`;
    await Deno.mkdir(scm);
    await sh("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", scm);
    await Deno.writeFile(`${scm}/data`, junk());
    const cfg = config(dir, [{ scm, bdevs: [`${dir}/bdev0`] }]);
    const e = cfg.engines[0];
    assert.equal(await needsFormat(e), "SCM format required on instance 0");
    const before = await treeSum(dir);
    await eraseScm(e);
    assert.equal((await findMount(scm))?.source, "tmpfs");
    assert.equal(await treeSum(dir), before);
    // --force replaces the foreign tmpfs by ours, which erase removes.
    assertAllStatus((await formatStopped(cfg, { reformat: true })).scm, "CTL_SUCCESS", 1);
    assert.equal(await needsFormat(e), null);
    await eraseScm(e);
    assert.equal(await findMount(scm), null);
  });
});

Deno.test("start refuses only hazards --force cannot override (so --force stays reachable)", async () => {
  await inTemp(async (dir) => {
    await Deno.writeFile(`${dir}/bdev0`, junk());
    await Deno.symlink("/etc", `${dir}/etc-link`);
    const facts = {
      ...(await hostFacts()),
      thpEnabled: null,
      mem: {
        memTotalKb: 1 << 30,
        memFreeKb: 1 << 30,
        memAvailableKb: 1 << 30,
        hugepagesTotal: 0,
        hugepagesFree: 0,
        hugepagesReserved: 0,
        hugepagesSurplus: 0,
        hugepageSizeKb: 2048,
      },
    };
    const path = `${dir}/daos_server.yml`;
    await Deno.writeTextFile(
      path,
      configText(dir, [{ scm: `${dir}/scm0`, bdevs: [`${dir}/bdev0`] }]),
    );
    // Data in a bdev path: format refuses it without --force, start does not.
    const cfg = await loadServerConfigForStart(path, facts);
    assert.equal(cfg.engines.length, 1);
    await Deno.writeTextFile(
      path,
      configText(dir, [{ scm: `${dir}/etc-link`, bdevs: [`${dir}/b1`] }]),
    );
    await assert.rejects(
      () => loadServerConfigForStart(path, facts),
      /refusing to format a system path/,
    );
  });
});

Deno.test("assertAllStatus fails on an empty list and on a short one", () => {
  assert.throws(() => assertAllStatus([], "CTL_SUCCESS", 1), /expected 1 results/);
  assert.throws(() => assertAllStatus([{ status: "CTL_SUCCESS" }], "CTL_SUCCESS", 2));
  assert.throws(() => assertAllStatus([{ status: "CTL_ERR_SCM" }], "CTL_SUCCESS", 1));
  assertAllStatus([{ status: "CTL_SUCCESS" }], "CTL_SUCCESS", 1);
});
