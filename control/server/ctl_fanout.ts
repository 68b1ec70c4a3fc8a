/**
 * The MS leader's calls to other daos_servers (management_service.ts `Fanout`): the CtlSvc
 * *Ranks methods on each host through the control API's Invoker (the server's transport
 * pool, component "server"), and the host liveness probe (PingRanks: alive + local rank
 * states).
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
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
import type { Invoker } from "../lib/control/invoker.ts";
import { RankSet } from "../lib/rankset.ts";
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
  inv: Invoker,
  addr: string,
  req: GroupUpdateReq,
  timeoutMs = GROUP_UPDATE_CALL_MS,
): Promise<RankResult[]> {
  const resp = await inv.unary(addr, CtlSvc.method.groupUpdate, req, { timeoutMs });
  return resp.results.map((r) => ({ ...r, addr: r.addr || addr }));
}

/**
 * A client pool for calls from this server to others, as component "server" (dmg.md §2.4:
 * *Ranks, Join and ClusterEvent are server-only); `security` as loaded for the listener.
 */
export function serverTransportPool(security: TransportSecurity): TransportPool {
  return new TransportPool({ security, component: "server" });
}

const METHODS = {
  PrepShutdownRanks: CtlSvc.method.prepShutdownRanks,
  StopRanks: CtlSvc.method.stopRanks,
  StartRanks: CtlSvc.method.startRanks,
  ResetFormatRanks: CtlSvc.method.resetFormatRanks,
} as const satisfies Record<RanksMethod, unknown>;

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
  inv: Invoker,
  addr: string,
  timeoutMs: number,
): Promise<boolean> {
  try {
    await inv.unary(
      addr,
      CtlSvc.method.prepShutdownRanks,
      create(RanksReqSchema, { ranks: "" }),
      { timeoutMs },
    );
    return true; // not expected, but an answer all the same
  } catch (e) {
    // Secure mode without our certificates: no RPC possible, so only the socket can tell.
    if (e instanceof TransportUnsupportedError) return await tcpProbe(addr, timeoutMs);
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
  inv: Invoker,
  addr: string,
  timeoutMs: number,
): Promise<HostProbe | null> {
  try {
    const resp = await inv.unary(
      addr,
      CtlSvc.method.pingRanks,
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
    // Secure mode without our certificates: no RPC possible, so only the socket can tell.
    if (e instanceof TransportUnsupportedError) {
      return await tcpProbe(addr, timeoutMs) ? { ranks: null } : null;
    }
    if (!(e instanceof ConnectError)) throw e;
    return NO_ANSWER.has(e.code) ? null : { ranks: null };
  }
}

/**
 * Fanout over `inv`: one CtlSvc call per host, concurrently. A host that fails throws (the MS
 * turns it into Unresponsive results for that host's ranks).
 */
export function ctlFanout(inv: Invoker, callMs = RANKS_CALL_MS): Fanout {
  return {
    async callRanks(method, byHost, force) {
      const targets = [...byHost.keys()];
      const results = await inv.fanOut(
        targets,
        METHODS[method],
        (addr) =>
          create(RanksReqSchema, {
            ranks: RankSet.fromRanks(byHost.get(addr) ?? []).toString(),
            force,
          }),
        { deadline: Date.now() + callMs, name: method },
      );
      const out: RankResult[] = [];
      for (const r of results) {
        if (r.error) throw r.error;
        out.push(...r.response.results.map((x) => ({ ...x, addr: x.addr || r.addr })));
      }
      return out;
    },
    pingHost: (addr, timeoutMs) => pingHost(inv, addr, timeoutMs),
    probeHost: (addr, timeoutMs) => probeHost(inv, addr, timeoutMs),
    groupUpdate: (addr, req) => groupUpdateHost(inv, addr, req),
    eraseReplica: async (addr, system) => {
      await inv.unary(
        addr,
        CtlSvc.method.systemErasePeer,
        create(SystemEraseReqSchema, { sys: system }),
        { timeoutMs: 10_000 },
      );
    },
  };
}
