/**
 * Storage scan and usage from running engines, end to end: two real daos_servers with two
 * engines each (1 GiB file bdevs), format + join, then bin/dmg shows the bdevs as AIO
 * controllers with their real sizes and ranks; and `dmg -j system query` carries each
 * member's 64-bit incarnation exactly as the engine reported it (above 2^53).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { LocalCluster } from "../cluster/local_cluster.ts";

const GIB = 1024 ** 3;

interface UsageJson {
  HostStorage: Record<string, {
    storage: {
      nvme_devices: {
        smd_devices: { rank: number; total_bytes: number; usable_bytes: number }[];
      }[];
      scm_namespaces: { mount: { rank: number; usable_bytes: number } }[];
    };
  }>;
}

interface ScanJson {
  HostStorage: Record<string, {
    hosts: string;
    storage: {
      nvme_devices: {
        pci_addr: string;
        model: string;
        namespaces: { size: number }[];
        smd_devices: { rank: number }[] | null;
      }[];
    };
  }>;
}

Deno.test({
  name: "storage: scan/usage report the engines' file bdevs with their sizes; exact incarnations",
  fn: async () => {
    const c = await LocalCluster.create({ servers: 2, replicas: 1, engines: 2 });
    try {
      await c.startAll();
      const fmt = await c.dmg(["storage", "format"]);
      equal(fmt.code, 0, fmt.stdout + fmt.stderr);
      await c.waitFor("4 joined", async () => (await c.joinedRanks()).length === 4, 30_000);

      // Text: per host two 1 GiB bdevs (2.1 GB in SI), nothing used yet.
      const usage = await c.dmg(["storage", "query", "usage"]);
      equal(usage.code, 0, usage.stdout + usage.stderr);
      // Hosts may differ in SCM free space (the replica keeps its MS database there).
      const rows = usage.stdout.split("\n").filter((l) => l.startsWith("127.0.0."));
      ok(rows.length >= 1, usage.stdout);
      for (const row of rows) {
        match(row, /^127\.0\.0\.\S+\s+8\.6 GB\s+\S+ GB\s+\d+ %\s+2\.1 GB\s+2\.1 GB\s+0 %\s*$/);
      }

      // -j usage: every rank's bdev with its exact size, usable space, ranked SCM mounts.
      const uj = await c.dmgJson<UsageJson>(["storage", "query", "usage"]);
      equal(uj.error, null);
      const stores = Object.values(uj.response!.HostStorage).map((h) => h.storage);
      const smd = stores.flatMap((s) => s.nvme_devices.flatMap((d) => d.smd_devices));
      deepEqual(smd.map((d) => d.rank).sort(), [0, 1, 2, 3]);
      for (const d of smd) {
        equal(d.total_bytes, GIB);
        ok(d.usable_bytes > 0 && d.usable_bytes <= GIB, `usable ${d.usable_bytes}`);
      }
      const mounts = stores.flatMap((s) => s.scm_namespaces.map((n) => n.mount));
      deepEqual(mounts.map((m) => m.rank).sort(), [0, 1, 2, 3]);
      ok(mounts.every((m) => m.usable_bytes > 0), JSON.stringify(mounts));

      // JSON: exact sizes, the configured paths as controller addresses, one rank each.
      const scan = await c.dmgJson<ScanJson>(["storage", "scan", "-v"]);
      equal(scan.error, null);
      const ctrlrs = Object.values(scan.response!.HostStorage).flatMap((h) =>
        h.storage.nvme_devices
      );
      const want = c.servers.flatMap((s) => [`${s.dir}/bdev0`, `${s.dir}/bdev1`]).sort();
      deepEqual(ctrlrs.map((d) => d.pci_addr).sort(), want);
      for (const d of ctrlrs) {
        equal(d.model, "AIO file");
        deepEqual(d.namespaces.map((n) => n.size), [GIB]);
      }
      deepEqual(
        ctrlrs.flatMap((d) => (d.smd_devices ?? []).map((s) => s.rank)).sort(),
        [0, 1, 2, 3],
      );

      // Incarnations: the raw JSON text carries the engines' u64 values digit for digit.
      const raw = await c.dmg(["-j", "system", "query", "-v"]);
      equal(raw.code, 0, raw.stderr);
      const fromJson = new Map(
        [...raw.stdout.matchAll(/"rank": (\d+),\s+"incarnation": (\d+)/g)].map((m) =>
          [Number(m[1]), m[2]] as const
        ),
      );
      const fromLogs = new Map<number, string>();
      for (const s of c.servers) {
        for (
          const m of (await c.log(s.index)).matchAll(
            /rank (\d+) ready \(pid \d+, incarnation (\d+)\)/g,
          )
        ) {
          fromLogs.set(Number(m[1]), m[2]); // the latest start wins
        }
      }
      equal(fromJson.size, 4, raw.stdout);
      for (const [rank, inc] of fromJson) {
        ok(BigInt(inc) > 2n ** 53n, `rank ${rank} incarnation ${inc} above 2^53`);
        equal(inc, fromLogs.get(rank), `rank ${rank}`);
      }
    } finally {
      await c.destroy();
    }
  },
});
