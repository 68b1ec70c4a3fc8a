/**
 * The engine's pool module end to end, without the MS: a real local cluster (2 servers × 2
 * engines, 2 targets each, tmpfs SCM + file bdevs), formatted and joined; the pool dRPC calls
 * go straight to one engine's dRPC socket, as daos_server would send them. Create over all
 * ranks makes `<scm>/<uuid>/vos-<t>` files of the per-target size on every SCM mount; query
 * (after a map push) adds the targets' space up; a map with one rank's targets DOWN leaves
 * them out; a request too large fails with -DER_NOSPACE naming the tier and leaves no file
 * anywhere; SMD_LIST_POOLS lists the pool; destroy removes every shard.
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { LocalCluster } from "../cluster/local_cluster.ts";
import { callDrpc } from "../../control/drpc/client.ts";
import { DrpcModule, MgmtMethod, PoolMethod } from "../../control/drpc/ids.ts";
import { SmdPoolReqSchema, SmdPoolRespSchema } from "../../proto/gen/ts/ctl/smd_pb.ts";
import { Status } from "../../proto/gen/ts/drpc/drpc_pb.ts";
import {
  PoolMapSetReqSchema,
  PoolShardsRespSchema,
} from "../../proto/gen/ts/mgmt/pool_engine_pb.ts";
import {
  PoolCreateReqSchema,
  PoolDestroyReqSchema,
  PoolDestroyRespSchema,
  PoolQueryReqSchema,
  PoolQueryRespSchema,
  PoolQueryTargetInfo_TargetState as TS,
  PoolQueryTargetReqSchema,
  PoolQueryTargetRespSchema,
} from "../../proto/gen/ts/mgmt/pool_pb.ts";
import { DaosRespSchema } from "../../proto/gen/ts/mgmt/srv_pb.ts";

const MiB = 1024 * 1024;
const TARGETS = 2;
const SCM_PER_TGT = 16 * MiB;
const NVME_PER_TGT = 64 * MiB;
const DER_NOSPACE = -1007;
const DER_NONEXIST = -1005;

/** One pool dRPC call to an engine socket; the body decoded with `out`. */
async function call<I extends DescMessage, O extends DescMessage>(
  sock: string,
  method: number,
  inSchema: I,
  init: MessageInitShape<I>,
  out: O,
) {
  const r = await callDrpc(
    sock,
    DrpcModule.MGMT,
    method,
    toBinary(inSchema, create(inSchema, init)),
    { timeoutMs: 90_000 },
  );
  equal(r.status, Status.SUCCESS, `dRPC method ${method}: status ${r.status}`);
  return fromBinary(out, r.body);
}

/** Sizes of the vos-<t> files of pool uuid under every mount ([] when the dir is gone). */
async function shardFiles(mounts: string[], uuid: string): Promise<Map<string, number>> {
  const files = new Map<string, number>();
  for (const m of mounts) {
    try {
      for await (const e of Deno.readDir(`${m}/${uuid}`)) {
        if (e.name.startsWith("vos-")) {
          files.set(`${m}/${uuid}/${e.name}`, (await Deno.stat(`${m}/${uuid}/${e.name}`)).size);
        }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return files;
}

Deno.test({
  name: "pool module: create, query, map set, NOSPACE, list, destroy on a 4-engine cluster",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const c = await LocalCluster.create({ servers: 2, replicas: 1, engines: 2, targets: TARGETS });
    try {
      await c.startAll();
      const fmt = await c.dmg(["storage", "format"]);
      equal(fmt.code, 0, fmt.stdout + fmt.stderr);
      await c.waitFor("4 ranks joined", async () => (await c.joinedRanks()).length === 4, 60_000);
      const ranks = await c.joinedRanks();
      deepEqual(ranks, [0, 1, 2, 3]);
      const pids = await c.enginePids(0);
      const sock = `${c.servers[0].socketDir}/daos_engine_${pids[0]}.sock`;
      const mounts = c.servers.flatMap((s) => [0, 1].map((e) => `${s.dir}/scm${e}`));
      const uuid = crypto.randomUUID();

      // Create over every rank: per-rank bytes, each engine divides by its 2 targets.
      const cr = await call(sock, PoolMethod.POOL_CREATE, PoolCreateReqSchema, {
        uuid,
        ranks,
        tierBytes: [BigInt(TARGETS * SCM_PER_TGT), BigInt(TARGETS * NVME_PER_TGT)],
        numSvcReps: 1,
      }, PoolShardsRespSchema);
      equal(cr.status, 0, cr.error);
      deepEqual([...cr.ranks].sort(), ranks);
      deepEqual([...cr.ntargets], [TARGETS, TARGETS, TARGETS, TARGETS]);
      equal(cr.tierBytes.length, 8);
      for (let i = 0; i < 4; i++) {
        equal(cr.tierBytes[2 * i], BigInt(TARGETS * SCM_PER_TGT));
        equal(cr.tierBytes[2 * i + 1], BigInt(TARGETS * NVME_PER_TGT));
      }
      const files = await shardFiles(mounts, uuid);
      equal(files.size, 4 * TARGETS, [...files.keys()].join("\n"));
      for (const m of mounts) {
        for (let t = 0; t < TARGETS; t++) {
          equal(files.get(`${m}/${uuid}/vos-${t}`), SCM_PER_TGT, `${m}/${uuid}/vos-${t}`);
        }
      }

      // Same uuid again: exists, and the existing shards stay.
      const again = await call(sock, PoolMethod.POOL_CREATE, PoolCreateReqSchema, {
        uuid,
        ranks,
        tierBytes: [BigInt(TARGETS * SCM_PER_TGT)],
      }, PoolShardsRespSchema);
      equal(again.status, -1004, again.error);
      equal((await shardFiles(mounts, uuid)).size, 4 * TARGETS);

      // No map yet: NONEXIST (the MS pushes the map then).
      let q = await call(
        sock,
        PoolMethod.POOL_QUERY,
        PoolQueryReqSchema,
        { id: uuid },
        PoolQueryRespSchema,
      );
      equal(q.status, DER_NONEXIST);

      const mapRanks = (down: number[]) =>
        ranks.map((rank) => ({
          rank,
          targetStates: Array(TARGETS).fill(down.includes(rank) ? TS.DOWN : TS.UP_IN),
        }));
      let ms = await call(sock, PoolMethod.POOL_MAP_SET, PoolMapSetReqSchema, {
        uuid,
        version: 1,
        svcRanks: [0],
        ranks: mapRanks([]),
      }, DaosRespSchema);
      equal(ms.status, 0);
      q = await call(
        sock,
        PoolMethod.POOL_QUERY,
        PoolQueryReqSchema,
        { id: uuid },
        PoolQueryRespSchema,
      );
      equal(q.status, 0);
      equal(q.version, 1);
      equal(q.totalTargets, 8);
      equal(q.activeTargets, 8);
      equal(q.disabledTargets, 0);
      const [scm, nvme] = q.tierStats;
      equal(scm.total, BigInt(8 * SCM_PER_TGT));
      ok(scm.free > 0n && scm.free < scm.total, `scm free ${scm.free}`);
      ok(scm.min <= scm.mean && scm.mean <= scm.max, `scm ${scm.min} ${scm.mean} ${scm.max}`);
      equal(scm.mean, scm.free / 8n);
      ok(nvme.total > BigInt(8 * (NVME_PER_TGT - MiB)) && nvme.total <= BigInt(8 * NVME_PER_TGT));
      ok(nvme.free > 0n && nvme.free <= nvme.total);

      // Another engine (server 1) got the map too: it answers the query itself.
      const pids1 = await c.enginePids(1);
      const sock1 = `${c.servers[1].socketDir}/daos_engine_${pids1[1]}.sock`;
      const q1 = await call(
        sock1,
        PoolMethod.POOL_QUERY,
        PoolQueryReqSchema,
        { id: uuid },
        PoolQueryRespSchema,
      );
      equal(q1.status, 0);
      equal(q1.tierStats[0].total, scm.total);

      // Rank 3's targets DOWN: left out of the space, counted as disabled.
      ms = await call(sock, PoolMethod.POOL_MAP_SET, PoolMapSetReqSchema, {
        uuid,
        version: 2,
        svcRanks: [0],
        ranks: mapRanks([3]),
      }, DaosRespSchema);
      equal(ms.status, 0);
      // An older map is accepted and ignored.
      ms = await call(sock, PoolMethod.POOL_MAP_SET, PoolMapSetReqSchema, {
        uuid,
        version: 1,
        svcRanks: [0],
        ranks: mapRanks([]),
      }, DaosRespSchema);
      equal(ms.status, 0);
      q = await call(
        sock,
        PoolMethod.POOL_QUERY,
        PoolQueryReqSchema,
        { id: uuid },
        PoolQueryRespSchema,
      );
      equal(q.status, 0);
      equal(q.version, 2);
      equal(q.activeTargets, 6);
      equal(q.disabledTargets, 2);
      equal(q.tierStats[0].total, BigInt(6 * SCM_PER_TGT));

      // Per-target query of rank 3: state from the map, space from the rank.
      const qt = await call(sock, PoolMethod.POOL_QUERY_TARGETS, PoolQueryTargetReqSchema, {
        id: uuid,
        rank: 3,
        targets: [1],
      }, PoolQueryTargetRespSchema);
      equal(qt.status, 0);
      equal(qt.infos.length, 1);
      equal(qt.infos[0].state, TS.DOWN);
      equal(qt.infos[0].space[0].total, BigInt(SCM_PER_TGT));

      // The engine lists the pool's shards.
      const sl = await call(
        sock,
        MgmtMethod.SMD_LIST_POOLS,
        SmdPoolReqSchema,
        {},
        SmdPoolRespSchema,
      );
      equal(sl.status, 0);
      deepEqual(sl.pools.map((p) => [p.uuid, [...p.tgtIds]]), [[uuid, [0, 1]]]);

      // Too large: NOSPACE names SCM and a size that fits; nothing made anywhere.
      const big = crypto.randomUUID();
      const ns = await call(sock, PoolMethod.POOL_CREATE, PoolCreateReqSchema, {
        uuid: big,
        ranks,
        tierBytes: [1024n * 1024n * BigInt(MiB), BigInt(TARGETS * NVME_PER_TGT)],
      }, PoolShardsRespSchema);
      equal(ns.status, DER_NOSPACE);
      match(ns.error, /SCM/);
      equal(ns.largest.length, 2);
      ok(ns.largest[0] > 0n && ns.largest[0] < 1024n * 1024n * BigInt(MiB), `${ns.largest}`);
      equal((await shardFiles(mounts, big)).size, 0);

      // Destroy: every shard gone; again = still fine (idempotent).
      for (let i = 0; i < 2; i++) {
        const d = await call(sock, PoolMethod.POOL_DESTROY, PoolDestroyReqSchema, {
          id: uuid,
          svcRanks: [0],
        }, PoolDestroyRespSchema);
        equal(d.status, 0);
        equal((await shardFiles(mounts, uuid)).size, 0);
      }
      q = await call(
        sock1,
        PoolMethod.POOL_QUERY,
        PoolQueryReqSchema,
        { id: uuid },
        PoolQueryRespSchema,
      );
      equal(q.status, DER_NONEXIST);
    } finally {
      await c.destroy();
    }
  },
});
