/**
 * End to end: a real daos_server with two engines on tmpfs SCM and file bdevs in a temp dir,
 * driven by the real dmg: unformatted state, format, refusal without --force, --force redo.
 */
import assert from "node:assert/strict";
import { freePort, runDmg, spawnServer, waitListening } from "./ctl_servers.ts";
import { makeFormatFixture } from "./format_fixture.ts";
import { needsFormat } from "../../control/storage/format_state.ts";
import { findMount, tmpfsSizeBytes } from "../../control/storage/mounts.ts";
import { readSuperblock } from "../../control/storage/superblock.ts";

Deno.test("daos_server + dmg: two-engine tmpfs/file-bdev format, refused without --force, redone with it", async () => {
  const addr = "127.0.0.1";
  const port = freePort([addr]);
  // The MS replica is elsewhere (nothing listens there): this server runs no MS, so dmg's
  // running-system guard lets the repeated formats through, as on a system not started yet.
  // The host's fault domain comes from a fault_cb script (run at start and at format).
  const cbDir = await Deno.makeTempDir({ prefix: "daos-format-cb-" });
  const cb = `${cbDir}/domain.sh`;
  await Deno.writeTextFile(cb, "#!/bin/sh\necho /Rack9/node3\n");
  await Deno.chmod(cb, 0o755);
  const f = await makeFormatFixture(
    2,
    `control_address: ${addr}\nsystem_ram_reserved: 1\nallow_thp: true\nfault_cb: ${cb}\n` +
      `mgmt_svc_replicas: [127.0.0.2:${port}]\n`,
    port,
  ).catch(async (e) => {
    await Deno.remove(cbDir, { recursive: true });
    throw e;
  });
  let server: ReturnType<typeof spawnServer> | undefined;
  try {
    const dmgConf = `${f.dir}/daos_control.yml`;
    await Deno.writeTextFile(
      dmgConf,
      `port: ${port}\nhostlist: [${addr}]\ntransport_config:\n  allow_insecure: true\n`,
    );
    const dmg = (...args: string[]) => runDmg(["-o", dmgConf, ...args]);
    server = spawnServer(f.configPath);
    await waitListening(addr, port, server.proc);

    // Before format: engines need format (they would wait), usage shows nothing mounted, and
    // NVMe usage is an error while no engine runs (server.md §3.7: Meta needs the engines).
    for (const e of f.config.engines) assert.ok(await needsFormat(e));
    const before = await dmg("storage", "query", "usage");
    assert.equal(before.code, 1, before.stderr);
    assert.match(before.stderr, /meta smd usage info unavailable as engines stopped/);
    assert.match(before.stdout, /^127\.0\.0\.1 0 B {7}0 B {6}N\/A/m);

    const fmt = await dmg("storage", "format");
    assert.equal(fmt.code, 0, fmt.stdout + fmt.stderr);
    assert.match(fmt.stdout, /Format Summary:\n.*\n.*\n {2}127\.0\.0\.1 2 {11}4 {12}\n/);
    const uuids: string[] = [];
    for (const e of f.config.engines) {
      const mnt = e.scm!.scmMount;
      const m = await findMount(mnt);
      assert.equal(m?.fsType, "tmpfs");
      assert.equal(tmpfsSizeBytes(m!), 4 * 2 ** 30);
      assert.ok((await Deno.stat(`${mnt}/daos_nvme.conf`)).isFile);
      const sb = (await readSuperblock(mnt))!;
      uuids.push(sb.uuid);
      assert.equal(sb.hostFaultDomain, "/rack9/node3");
      for (const b of e.bdevs[0].bdevList) assert.equal((await Deno.stat(b)).size, 2 ** 30);
      assert.equal(await needsFormat(e), null);
    }
    // The engines run but never join (no MS here): SCM usage only counts ready ranks, the
    // NVMe part comes from the engines over dRPC: four 1 GiB file bdevs.
    // The engines start after format returns; on a loaded machine they may not answer dRPC yet
    // (libfabric and SWIM start-up): ask again, bounded, while the server says exactly that.
    let usage = await dmg("storage", "query", "usage");
    for (
      let i = 0;
      i < 60 && usage.code !== 0 &&
      /waiting for engine \d+ to be ready|unavailable as engines? stopped/
        .test(usage.stderr);
      i++
    ) {
      await new Promise((r) => setTimeout(r, 500));
      usage = await dmg("storage", "query", "usage");
    }
    assert.equal(usage.code, 0, usage.stderr);
    assert.match(usage.stdout, /^127\.0\.0\.1 0 B {7}0 B {6}N\/A {6}4\.3 GB {5}4\.3 GB/m);

    const again = await dmg("storage", "format", "-v");
    assert.equal(again.code, 1);
    assert.match(again.stderr, /format request for device with an existing filesystem signature/);
    assert.match(again.stderr, /1 host had errors/);

    const forced = await dmg("storage", "format", "--force", "-v");
    assert.equal(forced.code, 0, forced.stdout + forced.stderr);
    assert.match(forced.stdout, /SCM Mount .*Format Result/);
    for (const [i, e] of f.config.engines.entries()) {
      assert.notEqual((await readSuperblock(e.scm!.scmMount))!.uuid, uuids[i]);
    }
  } finally {
    if (server) {
      // SIGTERM first: a clean stop also stops the engines started after the format.
      try {
        server.proc.kill("SIGTERM");
      } catch { /* exited */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = await Promise.race([
        server.proc.status.then(() => true),
        new Promise<false>((r) => timer = setTimeout(() => r(false), 15_000)),
      ]);
      clearTimeout(timer);
      if (!done) {
        try {
          server.proc.kill("SIGKILL");
        } catch { /* exited */ }
      }
      await server.proc.status;
      await server.stderr.catch(() => "");
    }
    await f.cleanup();
    await Deno.remove(cbDir, { recursive: true });
  }
});
