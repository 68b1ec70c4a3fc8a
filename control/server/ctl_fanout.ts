/**
 * The MS leader's calls to other daos_servers (management_service.ts `Fanout`): the CtlSvc
 * *Ranks methods on each host over the control API client, as component "server", and the
 * host liveness probe (PingRanks: alive + local rank states).
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { SystemEraseReqSchema } from "../../proto/gen/ts/mgmt/system_pb.ts";
import { RanksReqSchema } from "../../proto/gen/ts/ctl/ranks_pb.ts";
import type { RankResult } from "../../proto/gen/ts/shared/ranks_pb.ts";
import type { GroupUpdateReq } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import {
  type Fanout,
  type HostProbe,
  type RanksMethod,
  tcpProbe,
} from "../mgmt/management_service.ts";
import { RankSet } from "../lib/rankset.ts";
import { fanOut } from "../lib/rpc/fanout.ts";
import {
  TransportPool,
  type TransportSecurity,
  TransportUnsupportedError,
} from "../lib/rpc/transport.ts";

/** Default deadline of one *Ranks fan-out (engines may take a while to stop or start). */
export const RANKS_CALL_MS = 60_000;
/** Deadline of one host's GroupUpdate (its engines answer from memory). */
export const GROUP_UPDATE_CALL_MS = 5_000;

/** Sends the group map to the daos_server at `addr` (CtlSvc.GroupUpdate, ours). */
export async function groupUpdateHost(
  pool: TransportPool,
  addr: string,
  req: GroupUpdateReq,
  timeoutMs = GROUP_UPDATE_CALL_MS,
): Promise<RankResult[]> {
  const resp = await createClient(CtlSvc, pool.get(addr)).groupUpdate(req, { timeoutMs });
  return resp.results.map((r) => ({ ...r, addr: r.addr || addr }));
}

/**
 * A client pool for calls from this server to others, as component "server" (dmg.md §2.4:
 * *Ranks, Join and ClusterEvent are server-only); `security` as loaded for the listener.
 */
export function serverTransportPool(security: TransportSecurity): TransportPool {
  return new TransportPool({ security, component: "server" });
}

const LOCAL_NAMES: Record<
  RanksMethod,
  "prepShutdownRanks" | "stopRanks" | "startRanks" | "resetFormatRanks"
> = {
  PrepShutdownRanks: "prepShutdownRanks",
  StopRanks: "stopRanks",
  StartRanks: "startRanks",
  ResetFormatRanks: "resetFormatRanks",
};

/** Call outcomes that mean the host did not answer (nothing listening, hung, cut off). */
const NO_ANSWER: ReadonlySet<Code> = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.Canceled,
]);

/**
 * Liveness of the daos_server at `addr`: one CtlSvc call that every server refuses before
 * touching an engine (PrepShutdownRanks with no ranks → "no ranks specified in request",
 * server.md §4.5, or fault 610 before its engines started). Any answer from the server's RPC
 * stack within `timeoutMs` proves it alive; unlike a TCP connect, a stopped (SIGSTOP) or
 * wedged server whose socket still accepts connections counts as dead.
 */
export async function pingHost(
  pool: TransportPool,
  addr: string,
  timeoutMs: number,
): Promise<boolean> {
  let transport;
  try {
    transport = pool.get(addr);
  } catch (e) {
    // Secure mode without our certificates: no RPC possible, so only the socket can tell.
    if (e instanceof TransportUnsupportedError) return await tcpProbe(addr, timeoutMs);
    throw e;
  }
  try {
    await createClient(CtlSvc, transport).prepShutdownRanks(
      create(RanksReqSchema, { ranks: "" }),
      { timeoutMs },
    );
    return true; // not expected, but an answer all the same
  } catch (e) {
    if (!(e instanceof ConnectError)) throw e;
    return !NO_ANSWER.has(e.code);
  }
}

/**
 * Liveness and local rank states of the daos_server at `addr` in one PingRanks call (all its
 * ranks with their local state and engine incarnation). null when the server gave no answer
 * within `timeoutMs` (dead, hung or cut off); a server that answers with an error (an older
 * one without PingRanks, or before its engines started) is alive with no rank report.
 */
export async function probeHost(
  pool: TransportPool,
  addr: string,
  timeoutMs: number,
): Promise<HostProbe | null> {
  let transport;
  try {
    transport = pool.get(addr);
  } catch (e) {
    // Secure mode without our certificates: no RPC possible, so only the socket can tell.
    if (e instanceof TransportUnsupportedError) {
      return await tcpProbe(addr, timeoutMs) ? { ranks: null } : null;
    }
    throw e;
  }
  try {
    const resp = await createClient(CtlSvc, transport).pingRanks(
      create(RanksReqSchema, { ranks: "" }),
      { timeoutMs },
    );
    return {
      ranks: resp.results.map((r) => ({
        rank: r.rank,
        state: r.state,
        incarnation: r.incarnation,
      })),
    };
  } catch (e) {
    if (!(e instanceof ConnectError)) throw e;
    return NO_ANSWER.has(e.code) ? null : { ranks: null };
  }
}

/**
 * Fanout over `pool`: one CtlSvc call per host, concurrently. A host that fails throws (the MS
 * turns it into Unresponsive results for that host's ranks).
 */
export function ctlFanout(pool: TransportPool, callMs = RANKS_CALL_MS): Fanout {
  return {
    async callRanks(method, byHost, force) {
      const targets = [...byHost.keys()];
      const name = LOCAL_NAMES[method];
      const results = await fanOut(pool, targets, (t, o, addr) => {
        const req = create(RanksReqSchema, {
          ranks: RankSet.fromRanks(byHost.get(addr) ?? []).toString(),
          force,
        });
        return createClient(CtlSvc, t)[name](req, o);
      }, { deadline: Date.now() + callMs, name: method });
      const out: RankResult[] = [];
      for (const r of results) {
        if (r.error) throw r.error;
        out.push(...r.response.results.map((x) => ({ ...x, addr: x.addr || r.addr })));
      }
      return out;
    },
    pingHost: (addr, timeoutMs) => pingHost(pool, addr, timeoutMs),
    probeHost: (addr, timeoutMs) => probeHost(pool, addr, timeoutMs),
    groupUpdate: (addr, req) => groupUpdateHost(pool, addr, req),
    eraseReplica: async (addr, system) => {
      await createClient(CtlSvc, pool.get(addr)).systemErasePeer(
        create(SystemEraseReqSchema, { sys: system }),
        { timeoutMs: 10_000 },
      );
    },
  };
}
