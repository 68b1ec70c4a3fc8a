/**
 * ctl.CtlSvc *Ranks calls (spec/server.md §4.5) and GroupUpdate: the MS leader's orders for
 * this host's ranks, carried out on the context's engine harness.
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { type RanksReq, type RanksResp, RanksRespSchema } from "../../proto/gen/ts/ctl/ranks_pb.ts";
import type { RankResult } from "../../proto/gen/ts/shared/ranks_pb.ts";
import type { GroupUpdateReq } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import type { ServerConfig } from "../config/types.ts";
import type { RankSet } from "../lib/rankset.ts";
import { rankFilter } from "../lib/filter_fields.ts";
import type { EngineHarness } from "../harness/harness.ts";
import { checkGroupMap } from "../harness/group_map_relay.ts";
import {
  pingRanks,
  prepShutdownRanks,
  resetFormatRanks,
  startRanks,
  stopRanks,
} from "../harness/rank_ops.ts";
import { type ServerContext, startedHarness } from "./server_context.ts";

/** Deadline used when the caller set none. */
export const DEFAULT_RANKS_TIMEOUT_MS = 30_000;

/** How errors name the rank filter of the *Ranks requests. */
const RANKS_FIELD = "RanksReq field ranks";

/** The *Ranks handlers, as CtlSvc methods. */
export interface CtlRanksHandlers {
  /** Local rank states and incarnations (the MS leader's probe); empty ranks = all. */
  pingRanks(req: RanksReq, ctx: HandlerContext): Promise<RanksResp>;
  prepShutdownRanks(req: RanksReq, ctx: HandlerContext): Promise<RanksResp>;
  stopRanks(req: RanksReq, ctx: HandlerContext): Promise<RanksResp>;
  startRanks(req: RanksReq, ctx: HandlerContext): Promise<RanksResp>;
  resetFormatRanks(req: RanksReq, ctx: HandlerContext): Promise<RanksResp>;
  /** The MS leader's group map, forwarded to every ready local engine (ours). */
  groupUpdate(req: GroupUpdateReq, ctx: HandlerContext): Promise<RanksResp>;
}

/** What the rank calls use of the server context: the harness and the system name. */
export type RanksContext = Pick<ServerContext, "harness"> & {
  readonly config: Pick<ServerConfig, "name">;
};

/** The time left of the caller's deadline, less a little for the reply itself. */
function callTimeout(ctx: HandlerContext): number | undefined {
  const deadline = ctx.timeoutMs();
  return deadline === undefined ? undefined : Math.max(0, deadline - 200);
}

/**
 * Builds the *Ranks handlers. Each call takes the harness when it runs: fault 610 until the
 * engine plane exists and its harness has started.
 */
export function ctlRanksHandlers(sctx: RanksContext): CtlRanksHandlers {
  const system = sctx.config.name;
  const run = async (
    req: RanksReq,
    ctx: HandlerContext,
    op: (harness: EngineHarness, ranks: RankSet, timeoutMs: number) => Promise<RankResult[]>,
  ): Promise<RanksResp> => {
    const harness = startedHarness(sctx);
    if (req.ranks.trim() === "") throw new Error("no ranks specified in request");
    const ranks = rankFilter(req.ranks, RANKS_FIELD);
    const timeoutMs = callTimeout(ctx) ?? DEFAULT_RANKS_TIMEOUT_MS;
    return create(RanksRespSchema, { results: await op(harness, ranks, timeoutMs) });
  };
  return {
    // deno-lint-ignore require-await
    pingRanks: async (req) => {
      const harness = startedHarness(sctx);
      const ranks = rankFilter(req.ranks.trim(), RANKS_FIELD);
      return create(RanksRespSchema, { results: pingRanks(harness, ranks) });
    },
    prepShutdownRanks: (req, ctx) =>
      run(req, ctx, (h, r, timeoutMs) => prepShutdownRanks(h, r, { timeoutMs })),
    stopRanks: (req, ctx) =>
      run(req, ctx, (h, r, timeoutMs) => stopRanks(h, r, { timeoutMs, force: req.force })),
    startRanks: (req, ctx) =>
      run(req, ctx, (h, r, timeoutMs) => startRanks(h, r, { timeoutMs, checkMode: req.checkMode })),
    resetFormatRanks: (req, ctx) =>
      run(req, ctx, (h, r, timeoutMs) => resetFormatRanks(h, r, { timeoutMs })),
    groupUpdate: async (req, ctx) => {
      checkGroupMap(req, system);
      const harness = startedHarness(sctx);
      return create(RanksRespSchema, {
        results: await harness.groupMap.deliver(req, callTimeout(ctx)),
      });
    },
  };
}
