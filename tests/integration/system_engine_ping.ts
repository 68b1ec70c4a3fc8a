/**
 * Cross-rank PingRank over the engines' dRPC sockets: an engine answers PingRank of another rank
 * only from its group map (engine mgmt_module.c), so these show whether the map arrived.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DaosRespSchema, PingRankReqSchema } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { callDrpcOk } from "../../control/drpc/client.ts";
import { DrpcModule, MgmtMethod } from "../../control/drpc/ids.ts";
import type { JsonMember, LocalCluster } from "../cluster/local_cluster.ts";

/** dRPC socket of every running engine, by rank (from the member list and engine pids). */
export async function engineSockets(
  c: LocalCluster,
  members: JsonMember[],
): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const s of c.servers) {
    const pids = await c.enginePids(s.index);
    // Ranks of a host in instance order: the fixture's hosts join engine 0 first only by
    // chance, so map instance → rank through each engine's superblock-held rank instead.
    for (const [idx, pid] of pids.entries()) {
      if (pid === undefined) continue;
      const sb = await Deno.readTextFile(`${s.dir}/scm${idx}/superblock`).catch(() => "");
      const m = /^rank:\s*(\d+)/m.exec(sb);
      if (!m) continue;
      const rank = Number(m[1]);
      if (members.some((x) => x.rank === rank && x.addr === s.addr)) {
        out.set(rank, `${s.socketDir}/daos_engine_${pid}.sock`);
      }
    }
  }
  return out;
}

/** DaosResp status of PingRank(`target`) asked of the engine at `sock`. */
export async function pingRank(sock: string, target: number): Promise<number> {
  const body = await callDrpcOk(
    sock,
    DrpcModule.MGMT,
    MgmtMethod.PING_RANK,
    toBinary(PingRankReqSchema, create(PingRankReqSchema, { rank: target })),
    { timeoutMs: 5000 },
  );
  return fromBinary(DaosRespSchema, body).status;
}

/** Pairs (from, to) of ranks whose PingRank does not succeed yet. */
export async function failingPings(socks: Map<number, string>): Promise<string[]> {
  const bad: string[] = [];
  for (const [from, sock] of socks) {
    for (const to of socks.keys()) {
      if (to === from) continue;
      const st = await pingRank(sock, to).catch((e) => `${e}`);
      if (st !== 0) bad.push(`${from}->${to}: ${st}`);
    }
  }
  return bad;
}
