/**
 * The engine's pool module end to end, without the MS: a real local cluster (2 servers × 2
 * engines, 2 targets each, tmpfs SCM + file bdevs), formatted and joined; the pool dRPC calls
 * go straight to one engine's dRPC socket, as daos_server would send them. Create over all
 * ranks makes `<scm>/<uuid>/vos-<t>` files of the per-target size on every SCM mount; query
 * (after a map push) adds the targets' space up; a map with one rank's targets DOWN leaves
 * them out; a request too large fails with -DER_NOSPACE naming the tier and leaves no file
 * anywhere; SMD_LIST_POOLS lists the pool; an engine killed and restarted reopens its shards
 * and answers queries once the map is pushed again; destroy removes every shard; an engine
 * killed in the middle of a create (its target creates delayed by the module's fault
 * injection variable) makes the create fail with nothing left on the live ranks, and the
 * retry after its restart succeeds. Server 0's engine 1 puts one rank per message and server
 * 1's engine 0 two (DAOS_POOL_CHUNK_RANKS): create, map set (every engine assembles the map
 * from its chunks), query, query targets, NOSPACE and destroy through them give what one
 * chunk gives.
 */
import { type DescMessage, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { LocalCluster } from "../cluster/local_cluster.ts";
import { mgmtCall } from "./engine_fixture.ts";
import { MgmtMethod, PoolMethod } from "../../control/drpc/ids.ts";
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
/** Per-rank tier sizes of a pool whose targets get SCM_PER_TGT and NVME_PER_TGT each. */
const RANK_TIERS = [BigInt(TARGETS * SCM_PER_TGT), BigInt(TARGETS * NVME_PER_TGT)];
const DER_NOSPACE = -1007;
const DER_NONEXIST = -1005;
const DER_OOG = -1019;
const DER_GRPVER = -1036;
const CREATE_TIMEOUT_MS = 15_000;
const DELAY_MS = 5000;

/** One pool dRPC call to an engine socket (dRPC status SUCCESS); the body decoded with `out`. */
async function call<I extends DescMessage, O extends DescMessage>(
  sock: string,
  method: number,
  inSchema: I,
  init: MessageInitShape<I>,
  out: O,
) {
  // collective calls wait for every rank (up to the create budget), far past the 5 s default
  const r = await mgmtCall(sock, method, inSchema, init, { timeoutMs: 90_000 });
  equal(r.status, Status.SUCCESS, `dRPC method ${method}: status ${r.status}`);
  return fromBinary(out, r.body);
}

/** The pool module's dRPC methods as daos_server calls them, each with its reply decoded. */
const pool = {
  create: (sock: string, init: MessageInitShape<typeof PoolCreateReqSchema>) =>
    call(sock, PoolMethod.POOL_CREATE, PoolCreateReqSchema, init, PoolShardsRespSchema),
  query: (sock: string, id: string) =>
    call(sock, PoolMethod.POOL_QUERY, PoolQueryReqSchema, { id }, PoolQueryRespSchema),
  queryTargets: (sock: string, init: MessageInitShape<typeof PoolQueryTargetReqSchema>) =>
    call(
      sock,
      PoolMethod.POOL_QUERY_TARGETS,
      PoolQueryTargetReqSchema,
      init,
      PoolQueryTargetRespSchema,
    ),
  mapSet: (sock: string, init: MessageInitShape<typeof PoolMapSetReqSchema>) =>
    call(sock, PoolMethod.POOL_MAP_SET, PoolMapSetReqSchema, init, DaosRespSchema),
  destroy: (sock: string, init: MessageInitShape<typeof PoolDestroyReqSchema>) =>
    call(sock, PoolMethod.POOL_DESTROY, PoolDestroyReqSchema, init, PoolDestroyRespSchema),
  listPools: (sock: string) =>
    call(sock, MgmtMethod.SMD_LIST_POOLS, SmdPoolReqSchema, {}, SmdPoolRespSchema),
};

/** The dRPC socket of the engine with `pid` on server `s`. */
function engineSock(c: LocalCluster, s: number, pid: number): string {
  return `${c.servers[s].socketDir}/daos_engine_${pid}.sock`;
}

/** Ranks per pool message (DAOS_POOL_CHUNK_RANKS) of [server, engine]; 32 (default) otherwise. */
const CHUNKS: [number, number, number][] = [[0, 1, 1], [1, 0, 2]];

/**
 * Every engine: a short collective create budget; server 1's engine 1 also delays each target
 * create (fault injection), the window in which the test kills it mid-create; the engines of
 * CHUNKS send their pools' per-rank entries in small chunks.
 */
async function configureEngines(c: LocalCluster): Promise<void> {
  for (const [i, srv] of c.servers.entries()) {
    let e = 0;
    const yaml = (await Deno.readTextFile(srv.configPath)).replaceAll(
      `  - targets: ${TARGETS}\n`,
      () => {
        const vars = [`DAOS_POOL_CREATE_TIMEOUT_MS=${CREATE_TIMEOUT_MS}`];
        if (i === 1 && e === 1) vars.push(`DAOS_POOL_FI_CREATE_DELAY_MS=${DELAY_MS}`);
        const chunk = CHUNKS.find(([s, en]) => s === i && en === e);
        if (chunk) vars.push(`DAOS_POOL_CHUNK_RANKS=${chunk[2]}`);
        e++;
        // INFO: the chunked engines log each call's chunk size, which the test checks
        const mask = chunk ? "    log_mask: INFO\n" : "";
        return `  - targets: ${TARGETS}\n    env_vars: [${vars.join(", ")}]\n${mask}`;
      },
    );
    equal(e, 2, `engines in ${srv.configPath}`);
    await Deno.writeTextFile(srv.configPath, yaml);
  }
}

/** SIGKILLs engine 1 of server 1 (the one with the create delay); returns its pid. */
async function killEngine1(c: LocalCluster): Promise<number> {
  const [, pid] = await c.enginePids(1);
  Deno.kill(pid, "SIGKILL");
  return pid;
}

/** Waits until all 4 ranks are joined again, starting the killed engine's rank while it is down. */
async function rejoinAll(c: LocalCluster, what: string): Promise<void> {
  await c.waitFor(what, async () => {
    const rank = (await c.members()).find((m) => m.state !== "joined")?.rank;
    if (rank !== undefined && !(await c.enginePids(1))[1]) {
      await c.dmg(["system", "start", "-r", String(rank)]);
    }
    return (await c.joinedRanks()).length === 4;
  }, 90_000);
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
      await configureEngines(c);
      await c.startAll();
      const fmt = await c.dmg(["storage", "format"]);
      equal(fmt.code, 0, fmt.stdout + fmt.stderr);
      await c.waitFor("4 ranks joined", async () => (await c.joinedRanks()).length === 4, 60_000);
      const ranks = await c.joinedRanks();
      deepEqual(ranks, [0, 1, 2, 3]);
      const sock = engineSock(c, 0, (await c.enginePids(0))[0]);
      const mounts = c.servers.flatMap((s) => [0, 1].map((e) => `${s.dir}/scm${e}`));
      const uuid = crypto.randomUUID();
      /** Pushes map `version` of pool `id` through `s`: ranks in `down` have their targets DOWN. */
      const pushMapTo = async (s: string, id: string, version: number, down: number[]) => {
        const ms = await pool.mapSet(s, {
          uuid: id,
          version,
          svcRanks: [0],
          ranks: ranks.map((rank) => ({
            rank,
            targetStates: Array(TARGETS).fill(down.includes(rank) ? TS.DOWN : TS.UP_IN),
          })),
        });
        equal(ms.status, 0, `map set v${version}`);
      };
      const pushMap = (version: number, down: number[]) => pushMapTo(sock, uuid, version, down);

      // Create over every rank: per-rank bytes, each engine divides by its 2 targets.
      const cr = await pool.create(sock, { uuid, ranks, tierBytes: RANK_TIERS, numSvcReps: 1 });
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
      const again = await pool.create(sock, {
        uuid,
        ranks,
        tierBytes: [BigInt(TARGETS * SCM_PER_TGT)],
      });
      equal(again.status, -1004, again.error);
      equal((await shardFiles(mounts, uuid)).size, 4 * TARGETS);

      // No map yet: NONEXIST (the MS pushes the map then).
      let q = await pool.query(sock, uuid);
      equal(q.status, DER_NONEXIST);

      await pushMap(1, []);
      q = await pool.query(sock, uuid);
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
      const q1 = await pool.query(engineSock(c, 1, (await c.enginePids(1))[1]), uuid);
      equal(q1.status, 0);
      equal(q1.tierStats[0].total, scm.total);

      // Rank 3's targets DOWN: left out of the space, counted as disabled.
      await pushMap(2, [3]);
      // An older map is accepted and ignored.
      await pushMap(1, []);
      q = await pool.query(sock, uuid);
      equal(q.status, 0);
      equal(q.version, 2);
      equal(q.activeTargets, 6);
      equal(q.disabledTargets, 2);
      equal(q.tierStats[0].total, BigInt(6 * SCM_PER_TGT));

      // Per-target query of rank 3: state from the map, space from the rank.
      const qt = await pool.queryTargets(sock, { id: uuid, rank: 3, targets: [1] });
      equal(qt.status, 0);
      equal(qt.infos.length, 1);
      equal(qt.infos[0].state, TS.DOWN);
      equal(qt.infos[0].space[0].total, BigInt(SCM_PER_TGT));

      // The engine lists the pool's shards.
      const sl = await pool.listPools(sock);
      equal(sl.status, 0);
      deepEqual(sl.pools.map((p) => [p.uuid, [...p.tgtIds]]), [[uuid, [0, 1]]]);

      // An engine killed and restarted reopens its shards; with the map pushed again (as the
      // MS does when its rank rejoins) it answers the query itself.
      const old = await killEngine1(c);
      await c.waitFor("a rank not joined", async () => (await c.joinedRanks()).length < 4, 60_000);
      await rejoinAll(c, "4 ranks joined again");
      const restarted = (await c.enginePids(1))[1];
      ok(restarted && restarted !== old, `engine 1 of server 1: ${restarted}`);
      const sockR = engineSock(c, 1, restarted);
      const slR = await pool.listPools(sockR);
      deepEqual(slR.pools.map((p) => p.uuid), [uuid]);
      q = await pool.query(sockR, uuid);
      equal(q.status, DER_NONEXIST, "a restarted engine holds no map until it is pushed");
      await pushMap(3, []);
      q = await pool.query(sockR, uuid);
      equal(q.status, 0);
      equal(q.version, 3);
      equal(q.activeTargets, 8);
      equal(q.tierStats[0].total, BigInt(8 * SCM_PER_TGT));

      // Too large: NOSPACE names SCM and a size that fits; nothing made anywhere.
      const big = crypto.randomUUID();
      const ns = await pool.create(sock, {
        uuid: big,
        ranks,
        tierBytes: [1024n * 1024n * BigInt(MiB), BigInt(TARGETS * NVME_PER_TGT)],
      });
      equal(ns.status, DER_NOSPACE);
      match(ns.error, /SCM/);
      equal(ns.largest.length, 2);
      ok(ns.largest[0] > 0n && ns.largest[0] < 1024n * 1024n * BigInt(MiB), `${ns.largest}`);
      equal((await shardFiles(mounts, big)).size, 0);

      // Destroy: every shard gone; again = still fine (idempotent).
      for (let i = 0; i < 2; i++) {
        const d = await pool.destroy(sock, { id: uuid, svcRanks: [0] });
        equal(d.status, 0);
        equal((await shardFiles(mounts, uuid)).size, 0);
      }
      q = await pool.query(sockR, uuid);
      equal(q.status, DER_NONEXIST);

      // An engine killed in the middle of a create: the create fails and is rolled back on
      // the live ranks (no shard anywhere); after the engine restarts, a retry succeeds.
      const mid = crypto.randomUUID();
      const midReq = { uuid: mid, ranks, tierBytes: RANK_TIERS };
      const pending = pool.create(sock, midReq);
      await c.waitFor(
        "shards on the 3 ranks without the delay",
        async () => (await shardFiles(mounts, mid)).size === 3 * TARGETS,
        DELAY_MS * 2,
      );
      await killEngine1(c);
      const failed = await pending;
      ok(failed.status !== 0, "a create with a rank killed in the middle must fail");
      equal(
        (await shardFiles(mounts, mid)).size,
        0,
        `rolled back on every live rank (create: ${failed.status} ${failed.error})`,
      );
      await rejoinAll(c, "4 ranks joined after the kill");
      // The engine's group map may trail the MS's by a moment: -DER_OOG (or -DER_GRPVER from
      // a member with another map version) until they catch up.
      const retry = await c.waitFor("the retried create", async () => {
        const r = await pool.create(sock, midReq);
        return r.status === DER_OOG || r.status === DER_GRPVER ? null : r;
      }, 60_000);
      equal(retry.status, 0, retry.error);
      equal((await shardFiles(mounts, mid)).size, 4 * TARGETS);
      const dm = await pool.destroy(sock, { id: mid });
      equal(dm.status, 0);
      equal((await shardFiles(mounts, mid)).size, 0);

      // Chunked: the same calls through the engines with 1 and 2 ranks per message.
      const sock1 = engineSock(c, 0, (await c.enginePids(0))[1]);
      const sock2 = engineSock(c, 1, (await c.enginePids(1))[0]);
      const allSocks = [sock, sock1, sock2, engineSock(c, 1, (await c.enginePids(1))[1])];
      const ch = crypto.randomUUID();
      const crC = await pool.create(sock1, { uuid: ch, ranks, tierBytes: RANK_TIERS });
      equal(crC.status, 0, crC.error);
      deepEqual([...crC.ranks], ranks, "every chunk's shards, in the order of the ranks");
      deepEqual([...crC.ntargets], [...cr.ntargets]);
      deepEqual([...crC.tierBytes], [...cr.tierBytes]);
      equal((await shardFiles(mounts, ch)).size, 4 * TARGETS);
      // The map in 4 chunks of 1 rank: every engine (each root's chunk size differs) holds it.
      await pushMapTo(sock1, ch, 1, []);
      const qs = await Promise.all(allSocks.map((s) => pool.query(s, ch)));
      for (const [i, qc] of qs.entries()) {
        equal(qc.status, 0, `query through engine socket ${allSocks[i]}`);
        equal(qc.version, 1);
        equal(qc.totalTargets, 8);
        equal(qc.activeTargets, 8);
        equal(qc.tierStats[0].total, BigInt(8 * SCM_PER_TGT));
        // one collective (32 per message) or 4 or 2 chunks folded: the same stats
        deepEqual(qc.tierStats, qs[0].tierStats);
      }
      // Rank 3 excluded, the map in 2 chunks of 2 ranks: left out everywhere.
      await pushMapTo(sock2, ch, 2, [3]);
      for (const s of allSocks) {
        const qx = await pool.query(s, ch);
        equal(qx.status, 0);
        deepEqual([qx.version, qx.activeTargets, qx.disabledTargets], [2, 6, 2], s);
        equal(qx.tierStats[0].total, BigInt(6 * SCM_PER_TGT));
      }
      const qtC = await pool.queryTargets(sock1, { id: ch, rank: 3, targets: [0, 1] });
      equal(qtC.status, 0);
      deepEqual(qtC.infos.map((i) => i.state), [TS.DOWN, TS.DOWN]);
      equal(qtC.infos[1].space[0].total, BigInt(SCM_PER_TGT));
      // NOSPACE: the check pass over every chunk names the same tier and size as one chunk.
      const nsReq = {
        ranks,
        tierBytes: [1024n * 1024n * BigInt(MiB), BigInt(TARGETS * NVME_PER_TGT)],
      };
      const big1 = crypto.randomUUID();
      const nsOne = await pool.create(sock, { uuid: big1, ...nsReq });
      const nsC = await pool.create(sock1, { uuid: big1, ...nsReq });
      equal(nsC.status, DER_NOSPACE);
      deepEqual([nsC.error, [...nsC.largest]], [nsOne.error, [...nsOne.largest]]);
      equal((await shardFiles(mounts, big1)).size, 0);
      // Destroy through the chunked engine: every shard gone, no engine holds the map.
      // The chunk sizes took effect (the engines log them with each call).
      const log1 = await Deno.readTextFile(`${c.servers[0].dir}/engine1.log`);
      match(log1, new RegExp(`pool create ${ch}: shards on 4 ranks \\(1 per collective\\)`));
      match(log1, new RegExp(`pool map set ${ch}: version 1, 4 ranks \\(1 per message\\)`));
      const log2 = await Deno.readTextFile(`${c.servers[1].dir}/engine0.log`);
      match(log2, new RegExp(`pool map set ${ch}: version 2, 4 ranks \\(2 per message\\)`));
      const dc = await pool.destroy(sock1, { id: ch });
      equal(dc.status, 0);
      equal((await shardFiles(mounts, ch)).size, 0);
      for (const s of allSocks) equal((await pool.query(s, ch)).status, DER_NONEXIST, s);
    } finally {
      await c.destroy();
    }
  },
});
