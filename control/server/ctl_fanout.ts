/**
 * The MS leader's calls to other daos_servers (management_service.ts `Fanout`): the CtlSvc
 * *Ranks methods on each host over the control API client, as component "server".
 */
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { RanksReqSchema } from "../../proto/gen/ts/ctl/ranks_pb.ts";
import type { RankResult } from "../../proto/gen/ts/shared/ranks_pb.ts";
import type { Fanout, RanksMethod } from "../mgmt/management_service.ts";
import { RankSet } from "../lib/rankset.ts";
import { fanOut } from "../lib/rpc/fanout.ts";
import { TransportPool, type TransportSecurity } from "../lib/rpc/transport.ts";

/** Default deadline of one *Ranks fan-out (engines may take a while to stop or start). */
export const RANKS_CALL_MS = 60_000;

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
  };
}
