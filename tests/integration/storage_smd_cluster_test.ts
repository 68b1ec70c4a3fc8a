/**
 * The SMD and log-mask commands end to end: one real daos_server with two engines on file
 * bdevs, formatted and joined. `storage query list-devices` lists both ranks' devices from the
 * engines' SMD lists; `server set-logmasks` reaches both engines (a bad mask is refused by
 * them); `storage set nvme-faulty` and `storage replace nvme` follow the device state rules
 * (NORMAL → EVICTED → NORMAL, refused otherwise; EVICTED kept across a restart); `storage led check` is refused (no VMD);
 * `server-version` reports the servers' version from the MS.
 */
import { deepEqual, equal, match, notEqual } from "node:assert/strict";
import { DAOS_VERSION } from "../../control/lib/rpc/version.ts";
import { LocalCluster } from "../cluster/local_cluster.ts";

interface SmdJson {
  HostStorage: Record<string, {
    storage: {
      smd_info: { devices: { uuid: string; rank: number; ctrlr: { dev_state: string } }[] };
    };
  }>;
}

Deno.test({
  name:
    "storage query list-devices, set nvme-faulty, replace nvme, server set-logmasks, server-version on a cluster",
  fn: async () => {
    const c = await LocalCluster.create({ servers: 1, replicas: 1, engines: 2 });
    try {
      await c.startAll();
      const fmt = await c.dmg(["storage", "format"]);
      equal(fmt.code, 0, fmt.stdout + fmt.stderr);
      await c.waitFor("2 ranks joined", async () => (await c.joinedRanks()).length === 2, 40_000);
      const host = c.servers[0].addr.split(":")[0];

      // Both ranks' devices, NORMAL.
      let r = await c.dmg(["storage", "query", "list-devices"]);
      equal(r.code, 0, r.stdout + r.stderr);
      const dashes = "-".repeat(host.length);
      match(
        r.stdout,
        new RegExp(`^${dashes}\\n${host.replaceAll(".", "\\.")}\\n${dashes}\\n  Devices\\n`),
      );
      equal(r.stdout.match(/State:NORMAL LED:NA/g)?.length, 2, r.stdout);
      match(r.stdout, /Rank:0 State:NORMAL/);
      match(r.stdout, /Rank:1 State:NORMAL/);
      const j = await c.dmgJson<SmdJson>(["storage", "query", "list-devices"]);
      const devs = Object.values(j.response!.HostStorage)[0].storage.smd_info.devices;
      deepEqual(devs.map((d) => d.rank), [0, 1]);
      // The engines name their bdevs alike; the device uuids still differ.
      notEqual(devs[0].uuid, devs[1].uuid);
      const uuid = devs[0].uuid;

      // Rank filter and health.
      r = await c.dmg(["storage", "query", "list-devices", "-r", "1", "-b"]);
      equal(r.code, 0, r.stderr);
      equal(r.stdout.match(/UUID:/g)?.length, 1);
      match(r.stdout, /Rank:1 State:NORMAL LED:NA\n {8}Health Stats:\n {10}Timestamp:/);
      r = await c.dmg(["storage", "query", "list-devices", "-r", "7"]);
      equal(r.code, 0);
      match(r.stdout, /\n {2}No devices found\n$/);
      r = await c.dmg(["storage", "query", "device-health", "-u", uuid]);
      equal(r.code, 0, r.stderr);
      match(r.stdout, new RegExp(`UUID:${uuid} .*\\n.*Rank:0 State:NORMAL.*\\n {8}Health Stats:`));

      // Log masks reach both engines; an invalid mask is refused by each engine.
      r = await c.dmg(["server", "set-logmasks", "-m", "DEBUG", "-d", "mgmt"]);
      equal(r.code, 0, r.stdout + r.stderr);
      equal(r.stdout, `Engine log-masks updated successfully on the following hosts: ${host}\n`);
      r = await c.dmg(["server", "set-logmasks", "-m", "NOT_A_LEVEL"]);
      equal(r.code, 1);
      match(r.stderr, /engine-0: DER_INVAL\(-1003\).*engine-1: DER_INVAL\(-1003\)/);
      match(r.stderr, /ERROR: dmg: set engine log level failed: 1 host had errors\n$/);
      r = await c.dmg(["server", "set-logmasks"]); // back to the configured masks
      equal(r.code, 0, r.stdout + r.stderr);

      // NORMAL → EVICTED; evicting again is refused; -e shows it alone.
      r = await c.dmg(["storage", "set", "nvme-faulty", "-u", uuid, "-f"]);
      equal(r.code, 0, r.stdout + r.stderr);
      match(r.stdout, new RegExp(`UUID:${uuid} .*\\n.*Rank:0 State:EVICTED`));
      r = await c.dmg(["storage", "query", "list-devices", "-e"]);
      equal(r.stdout.match(/UUID:/g)?.length, 1);
      match(r.stdout, new RegExp(`UUID:${uuid}`));
      // The state survives a restart (kept on SCM, as DAOS's SMD keeps it).
      await c.restart(0);
      await c.waitFor("2 ranks rejoined", async () => (await c.joinedRanks()).length === 2, 40_000);
      // The MS may still hold the old "joined" states: wait for the engines themselves.
      await c.waitFor("rank 0's engine answers", async () => {
        r = await c.dmg(["storage", "query", "list-devices", "-r", "0"]);
        return r.code === 0 && r.stdout.includes("UUID:");
      }, 40_000);
      match(r.stdout, new RegExp(`UUID:${uuid} .*\\n.*Rank:0 State:EVICTED`));
      r = await c.dmg(["storage", "set", "nvme-faulty", "-u", uuid, "-f"]);
      equal(r.code, 1);
      match(r.stdout, new RegExp(`set-faulty on device ${uuid}: DER_INVAL\\(-1003\\)`));

      // EVICTED → NORMAL by reuse; a NORMAL device cannot be replaced.
      r = await c.dmg(["storage", "replace", "nvme", "--old-uuid", uuid, "--new-uuid", uuid]);
      equal(r.code, 0, r.stdout + r.stderr);
      match(r.stdout, /Rank:0 State:NORMAL/);
      r = await c.dmg(["storage", "replace", "nvme", "--old-uuid", uuid, "--new-uuid", uuid]);
      equal(r.code, 1);
      match(r.stdout, new RegExp(`dev-replace on device ${uuid}: DER_INVAL\\(-1003\\)`));
      r = await c.dmg([
        "storage",
        "set",
        "nvme-faulty",
        "-u",
        "11111111-2222-4333-8444-555555555555",
        "-f",
      ]);
      equal(r.code, 1);
      match(r.stderr, /device 11111111-2222-4333-8444-555555555555 not found on any host/);

      // The servers' version from the MS.
      r = await c.dmg(["server-version"]);
      equal(r.code, 0, r.stdout + r.stderr);
      equal(r.stdout, `DAOS Control Server version ${DAOS_VERSION}\n`);

      // No VMD here: LED requests are refused by the host.
      r = await c.dmg(["storage", "led", "check", uuid]);
      equal(r.code, 1);
      match(r.stdout, /LED management needs VMD-managed NVMe devices/);
    } finally {
      await c.destroy();
    }
  },
});
