/**
 * `dmg storage scan -n` end to end: one real daos_server with one engine on a 1 GiB file bdev,
 * formatted and joined; the engine's health answer (a timestamp, its I/O error counters, no
 * temperature sensor) comes out in DAOS's layout (dmg.md §5.8).
 */
import { equal, match } from "node:assert/strict";
import { LocalCluster } from "../cluster/local_cluster.ts";

Deno.test({
  name: "storage scan -n: a running engine's file bdev health in DAOS's layout",
  fn: async () => {
    const c = await LocalCluster.create({ servers: 1, replicas: 1, engines: 1 });
    try {
      await c.startAll();
      const fmt = await c.dmg(["storage", "format"]);
      equal(fmt.code, 0, fmt.stdout + fmt.stderr);
      await c.waitFor("rank 0 joined", async () => (await c.joinedRanks()).length === 1, 30_000);
      const r = await c.dmg(["storage", "scan", "-n"]);
      equal(r.code, 0, r.stdout + r.stderr);
      equal(r.stderr, "");
      const host = c.servers[0].addr.split(":")[0];
      const dashes = "-".repeat(host.length);
      match(
        r.stdout,
        new RegExp(
          `^${dashes}\\n${host.replaceAll(".", "\\.")}\\n${dashes}\\n` +
            "PCI:\\S+ Model:[^\\n]* FW:[^\\n]* Socket:\\d+ Capacity:1\\.1 GB\\n" +
            "  Health Stats:\\n" +
            "    Timestamp:\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.000000(Z|[+-]\\d\\d:\\d\\d)\\n" +
            "    Temperature:N/A\\n" +
            "    Controller Busy Time:0s\\n" +
            "    Power Cycles:0\\n" +
            "    Power On Duration:0s\\n" +
            "    Lifetime Used:0%\\n" +
            "    Unsafe Shutdowns:0\\n" +
            "    Media Errors:0\\n" +
            "    Read Errors:0\\n" +
            "    Write Errors:0\\n" +
            "    Unmap Errors:0\\n" +
            "    Checksum Errors:0\\n" +
            "    Error Log Entries:0\\n" +
            "  Critical Warnings:\\n" +
            "    Temperature: OK\\n" +
            "    Available Spare: OK\\n" +
            "    Device Reliability: OK\\n" +
            "    Read Only: OK\\n" +
            "    Volatile Memory Backup: OK\\n" +
            "\\n$",
        ),
      );
    } finally {
      await c.destroy();
    }
  },
});
