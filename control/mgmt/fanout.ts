/**
 * The MS leader's calls to other daos_servers (implemented by the integrator over the control
 * API client, server/ctl_fanout.ts), and the per-host fan-out of rank operations built on it.
 */
import { create } from "@bufbuild/protobuf";
import { type RankResult, RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import type { GroupUpdateReq } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { type Member } from "./member.ts";
import { ranksByHost } from "./system_ops.ts";

/** CtlSvc methods the leader fans out to hosts. */
export type RanksMethod = "PrepShutdownRanks" | "StopRanks" | "StartRanks" | "ResetFormatRanks";

/** Calls to other daos_servers, implemented by the integrator over the control API client. */
export interface Fanout {
  /** Calls `method` on each host for its ranks; may throw when a host is unreachable. */
  callRanks(
    method: RanksMethod,
    byHost: Map<string, number[]>,
    force: boolean,
  ): Promise<RankResult[]>;
  /** Optional liveness probe of a host's control server (default: TCP connect). */
  pingHost?(addr: string, timeoutMs: number): Promise<boolean>;
  /**
   * Optional liveness probe that also reports the host's ranks as it sees them (preferred over
   * pingHost): null when the host did not answer.
   */
  probeHost?(addr: string, timeoutMs: number): Promise<HostProbe | null>;
  /**
   * Delivers the group map to a host, which forwards it to its ready engines (CtlSvc
   * GroupUpdate); one result per engine; throws when the host failed. Without it no group
   * updates are sent.
   */
  groupUpdate?(addr: string, req: GroupUpdateReq): Promise<RankResult[]>;
  /**
   * Tells the peer replica at `addr` to drop its local database (SystemErase from the leader);
   * throws when it could not be told.
   */
  eraseReplica?(addr: string, system: string): Promise<void>;
}

/** One rank as its own daos_server sees it (PingRanks). */
export interface LocalRank {
  rank: number;
  /** Local state, lower-case ("ready" once joined, set up and running). */
  state: string;
  /** Incarnation of the running engine (0 unless ready). */
  incarnation: bigint;
}

/** A host's answer to the liveness probe. */
export interface HostProbe {
  /** Its ranks, or null when the host answered without a report (older server, not started). */
  ranks: LocalRank[] | null;
}

/** An Unresponsive result for `rank` on `addr` (the host failed or left the rank out). */
function unresponsive(rank: number, addr: string, msg: string): RankResult {
  return create(RankResultSchema, { rank, addr, errored: true, state: "unresponsive", msg });
}

/**
 * Calls `method` for `members`, one call per host in parallel; a host that fails gives an
 * Unresponsive result for each of its ranks, and so does a rank a host left out. Sorted by rank.
 */
export async function fanRanks(
  fanout: Fanout,
  method: RanksMethod,
  members: Member[],
  force: boolean,
): Promise<RankResult[]> {
  const byHost = ranksByHost(members);
  const parts = await Promise.all([...byHost].map(async ([addr, ranks]) => {
    try {
      const res = await fanout.callRanks(method, new Map([[addr, ranks]]), force);
      const seen = new Set(res.map((r) => r.rank));
      const missing = ranks.filter((r) => !seen.has(r)).map((rank) =>
        unresponsive(rank, addr, `no result for rank ${rank} from ${addr}`)
      );
      return [...res.map((r) => ({ ...r, addr: r.addr || addr })), ...missing];
    } catch (e) {
      return ranks.map((rank) =>
        unresponsive(rank, addr, `${addr}: ${e instanceof Error ? e.message : String(e)}`)
      );
    }
  }));
  return parts.flat().sort((a, b) => a.rank - b.rank);
}

/** True when a TCP connection to `addr` ("host:port") opens within `timeoutMs`. */
export async function tcpProbe(addr: string, timeoutMs: number): Promise<boolean> {
  const i = addr.lastIndexOf(":");
  const hostname = addr.slice(0, i);
  const port = Number(addr.slice(i + 1));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const conn = Deno.connect({ hostname, port });
  try {
    const c = await Promise.race([
      conn,
      new Promise<null>((r) => timer = setTimeout(() => r(null), timeoutMs)),
    ]);
    if (!c) {
      conn.then((x) => x.close()).catch(() => {});
      return false;
    }
    c.close();
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One liveness probe of `addr` (Fanout.probeHost, else pingHost, else a TCP connect): null when
 * it did not answer.
 */
export async function probeHost(
  fanout: Fanout,
  addr: string,
  timeoutMs: number,
): Promise<HostProbe | null> {
  if (fanout.probeHost) return await fanout.probeHost(addr, timeoutMs).catch(() => null);
  const ok = fanout.pingHost
    ? await fanout.pingHost(addr, timeoutMs).catch(() => false)
    : await tcpProbe(addr, timeoutMs);
  return ok ? { ranks: null } : null;
}
