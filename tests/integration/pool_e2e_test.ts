/**
 * Pools end to end on real processes: two daos_servers with two engines each (tmpfs SCM, 1 GiB
 * file bdevs, two targets per engine), real etcd, the engines' pool module. Through bin/dmg:
 * create → the shard files exist on every SCM mount with the per-target size and the NVMe free
 * space goes down; list and query show the pool; a pool too large fails with the no-space error
 * and leaves nothing anywhere; a stopped rank's targets show disabled and come back after
 * reintegrate; a destroy while a rank is down is deferred and completes when it returns; destroy
 * removes every file and gives the space back.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { type LocalCluster, LocalCluster as Cluster } from "../cluster/local_cluster.ts";

const ENGINES = 2;
const TARGETS = 2;
const BLK = 4096;

interface TierStats {
  total: number;
  free: number;
  min: number;
  max: number;
  mean: number;
  media_type: string;
}

interface QueryJson {
  state: string;
  uuid: string;
  label: string;
  total_targets: number;
  active_targets: number;
  disabled_targets: number;
  tier_stats: TierStats[] | null;
  disabled_ranks?: number[];
}

interface ListJson {
  pools: { uuid: string; label: string; state: string }[] | null;
}

interface UsageJson {
  HostStorage: Record<string, {
    storage: { nvme_devices: { smd_devices: { rank: number; usable_bytes: number }[] }[] };
  }>;
}

/** Every engine's SCM mount of the cluster. */
function scmMounts(c: LocalCluster): string[] {
  return c.servers.flatMap((s) => Array.from({ length: ENGINES }, (_, e) => `${s.dir}/scm${e}`));
}

/** Names of the pool directories (uuids) below every SCM mount, sorted, per mount. */
async function poolDirs(c: LocalCluster): Promise<string[][]> {
  const out: string[][] = [];
  for (const m of scmMounts(c)) {
    const names: string[] = [];
    for await (const e of Deno.readDir(m)) {
      if (e.isDirectory && /^[0-9a-f-]{36}$/.test(e.name)) names.push(e.name);
    }
    out.push(names.sort());
  }
  return out;
}

/** Sum of the NVMe bytes the engines report usable (free), from `dmg -j storage query usage`. */
async function nvmeFree(c: LocalCluster): Promise<number> {
  const u = await c.dmgJson<UsageJson>(["storage", "query", "usage"]);
  equal(u.error, null);
  return Object.values(u.response!.HostStorage)
    .flatMap((h) => h.storage.nvme_devices.flatMap((d) => d.smd_devices))
    .reduce((a, d) => a + d.usable_bytes, 0);
}

async function query(c: LocalCluster, pool: string): Promise<QueryJson> {
  const q = await c.dmgJson<QueryJson>(["pool", "query", pool]);
  equal(q.error, null, JSON.stringify(q));
  return q.response!;
}

async function waitState(c: LocalCluster, rank: number, state: string): Promise<void> {
  await c.waitFor(
    `rank ${rank} ${state}`,
    async () => (await c.members()).some((m) => m.rank === rank && m.state === state),
    60_000,
  );
}

Deno.test({
  name: "pools: create, list, query, usage, no space, stopped rank, deferred destroy, destroy",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const c = await Cluster.create({ servers: 2, replicas: 1, engines: ENGINES, targets: TARGETS });
    try {
      await c.startAll();
      const fmt = await c.dmg(["storage", "format"]);
      equal(fmt.code, 0, fmt.stdout + fmt.stderr);
      await c.waitFor("4 joined", async () => (await c.joinedRanks()).length === 4, 60_000);
      const free0 = await nvmeFree(c);

      // Create: the text block, then the shards on every mount with the per-target SCM size.
      const created = await c.dmg(["pool", "create", "-z", "2G", "tank"]);
      equal(created.code, 0, created.stdout + created.stderr);
      match(created.stdout, /Pool created with \d+\.\d\d%,\d+\.\d\d% storage tier ratio/);
      match(created.stdout, /Storage Ranks\s+: \[0-3\]/);
      const list = await c.dmgJson<ListJson>(["pool", "list"]);
      equal(list.error, null);
      equal(list.response!.pools?.length, 1, JSON.stringify(list));
      const uuid = list.response!.pools![0].uuid;
      equal(list.response!.pools![0].label, "tank");
      deepEqual(await poolDirs(c), Array(4).fill([uuid]));
      const q = await query(c, "tank");
      equal(q.uuid, uuid);
      equal(q.total_targets, 4 * TARGETS);
      equal(q.active_targets, 4 * TARGETS);
      equal(q.disabled_targets, 0);
      equal(q.state, "Ready");
      const [scm, nvme] = q.tier_stats!;
      for (const m of scmMounts(c)) {
        for (let t = 0; t < TARGETS; t++) {
          const st = await Deno.stat(`${m}/${uuid}/vos-${t}`);
          ok(st.isFile);
          equal(st.size * 4 * TARGETS, scm.total, `${m}/${uuid}/vos-${t}: per-target size`);
          equal(st.size % BLK, 0);
        }
      }
      // 6 % of 2 GB on SCM, 94 % on NVMe, split over 4 ranks (rounded up to 4 KiB per target).
      ok(Math.abs(scm.total - 0.06 * 2e9) < 4 * TARGETS * BLK, `SCM total ${scm.total}`);
      ok(nvme.total > 0.9 * 0.94 * 2e9 && nvme.total <= 0.94 * 2e9 + 4 * TARGETS * BLK);
      ok(nvme.free > 0 && nvme.free <= nvme.total && nvme.min <= nvme.max);
      const free1 = await nvmeFree(c);
      ok(free0 - free1 >= nvme.total, `NVMe free went down: ${free0} → ${free1}`);
      const text = await c.dmg(["pool", "list"]);
      equal(text.code, 0, text.stderr);
      match(text.stdout, /^tank\s+\S+ GB\s+Ready\s+\d+%\s+\d+%\s+0\/8\s*$/m);

      // Too large: the no-space error, nothing created anywhere, the list unchanged.
      const big = await c.dmg(["pool", "create", "-z", "100G", "big"]);
      equal(big.code, 1, big.stdout + big.stderr);
      match(big.stdout + big.stderr, /DER_NOSPACE\(-1007\)/);
      deepEqual(await poolDirs(c), Array(4).fill([uuid]));
      const after = await c.dmgJson<ListJson>(["pool", "list"]);
      deepEqual(after.response!.pools!.map((p) => p.label), ["tank"]);
      equal(await nvmeFree(c), free1);

      // A stopped rank: its targets disabled; back after start + reintegrate.
      const stop = await c.dmg(["system", "stop", "-r", "3"]);
      equal(stop.code, 0, stop.stdout + stop.stderr);
      await waitState(c, 3, "stopped");
      const down = await query(c, "tank");
      equal(down.disabled_targets, TARGETS);
      equal(down.active_targets, 3 * TARGETS);
      equal(down.state, "TargetsExcluded");
      deepEqual(down.disabled_ranks, [3]);
      const start = await c.dmg(["system", "start", "-r", "3"]);
      equal(start.code, 0, start.stdout + start.stderr);
      await waitState(c, 3, "joined");
      const reint = await c.dmg(["pool", "reintegrate", "tank", "--ranks", "3"]);
      equal(reint.code, 0, reint.stdout + reint.stderr);
      const back = await query(c, "tank");
      equal(back.disabled_targets, 0);
      equal(back.active_targets, 4 * TARGETS);

      // Destroy with rank 3 down: deferred (Destroying), finished when rank 3 returns.
      equal((await c.dmg(["system", "stop", "-r", "3"])).code, 0);
      await waitState(c, 3, "stopped");
      const des = await c.dmg(["pool", "destroy", "tank"]);
      equal(des.code, 0, des.stdout + des.stderr);
      match(des.stdout, /Pool-destroy command succeeded/);
      const pending = await c.dmgJson<ListJson>(["pool", "list", "-n"]);
      deepEqual(pending.response!.pools!.map((p) => p.state), ["Destroying"]);
      const left = (await poolDirs(c)).filter((d) => d.length > 0);
      deepEqual(left, [[uuid]], "only the stopped rank keeps its shards");
      equal((await c.dmg(["system", "start", "-r", "3"])).code, 0);
      await waitState(c, 3, "joined");
      await c.waitFor("deferred destroy finished", async () => {
        const l = await c.dmgJson<ListJson>(["pool", "list", "-n"]);
        return (l.response!.pools ?? []).length === 0;
      }, 60_000);
      deepEqual(await poolDirs(c), Array(4).fill([]));
      equal(await nvmeFree(c), free0, "the NVMe space is given back");
      const none = await c.dmg(["pool", "list"]);
      match(none.stdout, /No pools in system/);

      // The same label can be used again once destroyed.
      const again = await c.dmg(["pool", "create", "-z", "2G", "tank"]);
      equal(again.code, 0, again.stdout + again.stderr);
      const gone = await c.dmg(["pool", "destroy", "tank"]);
      equal(gone.code, 0, gone.stdout + gone.stderr);
      deepEqual(await poolDirs(c), Array(4).fill([]));
    } catch (e) {
      console.error(await c.diagnostics());
      throw e;
    } finally {
      await c.destroy();
    }
  },
});
