/**
 * ctl.CtlSvc handlers for the *Ranks calls (spec/server.md §4.5), bound to this host's
 * harness. Merge them into the CtlSvc service (control/ctl/service.ts `extra`).
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { type RanksReq, type RanksResp, RanksRespSchema } from "../../proto/gen/ts/ctl/ranks_pb.ts";
import type { RankResult } from "../../proto/gen/ts/shared/ranks_pb.ts";
import type { GroupUpdateReq } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { FaultCode, makeFault } from "../lib/fault.ts";
import type { RankSet } from "../lib/rankset.ts";
import { rankFilter } from "../lib/filter_fields.ts";
import type { EngineHarness } from "./harness.ts";
import { checkGroupMap } from "./group_map_relay.ts";
import {
  pingRanks,
  prepShutdownRanks,
  resetFormatRanks,
  startRanks,
  stopRanks,
} from "./rank_ops.ts";

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

/** Builds the *Ranks handlers over harness; `system` is this server's system name. */
export function ctlRanksHandlers(harness: EngineHarness, system: string): CtlRanksHandlers {
  const requireStarted = () => {
    if (!harness.isStarted()) {
      throw makeFault(
        FaultCode.ServerHarnessNotStarted,
        "DAOS I/O Engine harness not started",
        "retry the operation after the server has started its engines",
      );
    }
  };
  const run = async (
    req: RanksReq,
    ctx: HandlerContext,
    op: (ranks: RankSet, timeoutMs: number) => Promise<RankResult[]>,
  ): Promise<RanksResp> => {
    requireStarted();
    if (req.ranks.trim() === "") throw new Error("no ranks specified in request");
    const ranks = rankFilter(req.ranks, RANKS_FIELD);
    // Leave a little of the caller's deadline for the reply itself.
    const deadline = ctx.timeoutMs();
    const timeoutMs = deadline === undefined
      ? DEFAULT_RANKS_TIMEOUT_MS
      : Math.max(0, deadline - 200);
    return create(RanksRespSchema, { results: await op(ranks, timeoutMs) });
  };
  return {
    // deno-lint-ignore require-await
    pingRanks: async (req) => {
      requireStarted();
      const ranks = rankFilter(req.ranks.trim(), RANKS_FIELD);
      return create(RanksRespSchema, { results: pingRanks(harness, ranks) });
    },
    prepShutdownRanks: (req, ctx) =>
      run(req, ctx, (r, timeoutMs) => prepShutdownRanks(harness, r, { timeoutMs })),
    stopRanks: (req, ctx) =>
      run(req, ctx, (r, timeoutMs) => stopRanks(harness, r, { timeoutMs, force: req.force })),
    startRanks: (req, ctx) =>
      run(
        req,
        ctx,
        (r, timeoutMs) => startRanks(harness, r, { timeoutMs, checkMode: req.checkMode }),
      ),
    resetFormatRanks: (req, ctx) =>
      run(req, ctx, (r, timeoutMs) => resetFormatRanks(harness, r, { timeoutMs })),
    groupUpdate: async (req, ctx) => {
      checkGroupMap(req, system);
      requireStarted();
      const deadline = ctx.timeoutMs();
      const timeoutMs = deadline === undefined ? undefined : Math.max(0, deadline - 200);
      return create(RanksRespSchema, { results: await harness.groupMap.deliver(req, timeoutMs) });
    },
  };
}
