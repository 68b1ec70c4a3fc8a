/**
 * Pool requests over an Invoker (DAOS lib/control/pool.go): typed MS calls for every pool RPC,
 * PoolCreate/PoolDestroy with the reference's retry rules (spec/dmg.md §5.12, §5.15), and the
 * pure client-side maths shared by `pool list` and `pool query` (§5.13, §5.14): usage and
 * imbalance percentages, state fix-ups and the derived rebuild state.
 */
import {
  create,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { MgmtSvc } from "../../../proto/gen/ts/mgmt/mgmt_pb.ts";
import {
  PoolCreateReqSchema,
  type PoolCreateResp,
  PoolDestroyReqSchema,
  type PoolDestroyResp,
  PoolDestroyRespSchema,
} from "../../../proto/gen/ts/mgmt/pool_pb.ts";
import { PoolNotFoundError } from "../rpc/error_codec.ts";
import { FaultCode, hasFaultCode } from "../fault.ts";
import type { Invoker, Method } from "./invoker.ts";
import type { MsOptions } from "./system.ts";

/** DAOS statuses (daos_errno.h, GURT base 1000) the pool requests look at. */
export const DER = {
  NONEXIST: -1005,
  UNREACH: -1006,
  TIMEDOUT: -1011,
  AGAIN: -1013,
  OOG: -1019,
  EXCLUDED: -1032,
  GRPVER: -1036,
} as const;

/** Statuses after which a pool create/destroy is tried again (§5.12). */
export const POOL_RETRY_STATUSES: ReadonlySet<number> = new Set([
  DER.TIMEDOUT,
  DER.GRPVER,
  DER.AGAIN,
  DER.OOG,
  DER.UNREACH,
  DER.EXCLUDED,
]);

/** PoolCreate's overall deadline (the reference's 10 minutes). */
export const POOL_CREATE_TIMEOUT_MS = 10 * 60 * 1000;
/** Pause between pool request retries. */
export const POOL_RETRY_DELAY_MS = 1000;

/** A request error that is worth retrying: data plane not started, or the pool is locked. */
export function isRetryablePoolFault(e: unknown): boolean {
  return hasFaultCode(e, FaultCode.ServerDataPlaneNotStarted) ||
    hasFaultCode(e, FaultCode.SystemPoolLocked);
}

function msCall<I extends DescMessage, O extends DescMessage>(method: Method<I, O>) {
  return (inv: Invoker, opts: MsOptions, req: MessageInitShape<I>): Promise<MessageShape<O>> =>
    inv.msRequest(method, create(method.input, req), { ...opts, name: method.name });
}

/** ListPools: the system's pools (uuid, label, svc_reps, state, rebuild_state). */
export const listPools = msCall(MgmtSvc.method.listPools);
/** PoolQuery: one pool's state, map version, target counts, tier stats and rebuild status. */
export const poolQuery = msCall(MgmtSvc.method.poolQuery);
/** PoolQueryTarget: per-target type, state and space of one rank's targets. */
export const poolQueryTarget = msCall(MgmtSvc.method.poolQueryTarget);
/** PoolGetProp: the requested properties (all for none). */
export const poolGetProp = msCall(MgmtSvc.method.poolGetProp);
/** PoolSetProp: sets the properties (checked again by the MS). */
export const poolSetProp = msCall(MgmtSvc.method.poolSetProp);
/** PoolExclude: marks a rank's targets (or the listed ones) DOWN. */
export const poolExclude = msCall(MgmtSvc.method.poolExclude);
/** PoolDrain: marks a rank's targets (or the listed ones) DRAIN. */
export const poolDrain = msCall(MgmtSvc.method.poolDrain);
/** PoolReintegrate: brings a rank's targets back to UP_IN. */
export const poolReintegrate = msCall(MgmtSvc.method.poolReintegrate);
/** PoolExtend: adds ranks to a pool. */
export const poolExtend = msCall(MgmtSvc.method.poolExtend);
/** SystemDrain: drains (or with reint, reintegrates) ranks or hosts in every pool. */
export const systemDrain = msCall(MgmtSvc.method.systemDrain);

/** Test seam: how retries wait. */
export interface RetryHooks {
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * PoolCreate: generates the pool UUID (v4) when the request has none, so every retry creates
 * the same pool, and retries transient statuses/faults until the 10-minute deadline. A final
 * non-zero status is returned to the caller (which prints it as the reference does).
 */
export async function poolCreate(
  inv: Invoker,
  opts: MsOptions,
  req: MessageInitShape<typeof PoolCreateReqSchema>,
  hooks: RetryHooks = {},
): Promise<PoolCreateResp & { uuid: string }> {
  const uuid = req.uuid || crypto.randomUUID();
  const now = hooks.now ?? Date.now;
  const deadline = Math.min(opts.deadline, now() + POOL_CREATE_TIMEOUT_MS);
  const request = create(PoolCreateReqSchema, { ...req, uuid });
  for (;;) {
    let resp: PoolCreateResp | undefined;
    try {
      resp = await inv.msRequest(MgmtSvc.method.poolCreate, request, {
        ...opts,
        deadline,
        name: "PoolCreate",
      });
    } catch (e) {
      if (!isRetryablePoolFault(e) || now() + POOL_RETRY_DELAY_MS >= deadline) throw e;
    }
    if (
      resp && (!POOL_RETRY_STATUSES.has(resp.status) || now() + POOL_RETRY_DELAY_MS >= deadline)
    ) {
      return Object.assign(resp, { uuid });
    }
    await (hooks.sleep ?? realSleep)(POOL_RETRY_DELAY_MS);
  }
}

/**
 * PoolDestroy with the pool retry rules; when a retry (not the first try) reports the pool
 * as not found, an earlier attempt destroyed it, so that counts as success (status 0).
 */
export async function poolDestroy(
  inv: Invoker,
  opts: MsOptions,
  req: MessageInitShape<typeof PoolDestroyReqSchema>,
  hooks: RetryHooks = {},
): Promise<PoolDestroyResp> {
  const now = hooks.now ?? Date.now;
  const request = create(PoolDestroyReqSchema, req);
  for (let attempt = 0;; attempt++) {
    let resp: PoolDestroyResp | undefined;
    try {
      resp = await inv.msRequest(MgmtSvc.method.poolDestroy, request, {
        ...opts,
        name: "PoolDestroy",
      });
    } catch (e) {
      // Gone on a retry: an earlier attempt destroyed it.
      if (attempt > 0 && e instanceof PoolNotFoundError) return create(PoolDestroyRespSchema);
      if (!isRetryablePoolFault(e) || now() + POOL_RETRY_DELAY_MS >= opts.deadline) throw e;
    }
    if (resp) {
      if (attempt > 0 && resp.status === DER.NONEXIST) resp.status = 0;
      if (!POOL_RETRY_STATUSES.has(resp.status) || now() + POOL_RETRY_DELAY_MS >= opts.deadline) {
        return resp;
      }
    }
    await (hooks.sleep ?? realSleep)(POOL_RETRY_DELAY_MS);
  }
}

/** Used percentage of a tier: ⌊(total−free)/total×100⌋, 0 for an empty tier. */
export function usedPercent(total: bigint, free: bigint): number {
  if (total <= 0n) return 0;
  const used = total > free ? total - free : 0n;
  return Number((used * 100n) / total);
}

/**
 * Imbalance of a tier: ⌊(max−min)/(total/active targets)×100⌋ where min/max are the
 * per-target free bytes; 0 when there are no active targets or no space.
 */
export function imbalancePercent(
  total: bigint,
  min: bigint,
  max: bigint,
  activeTargets: number,
): number {
  if (activeTargets <= 0 || total <= 0n) return 0;
  const spread = max > min ? max - min : 0n;
  // spread / (total/active) × 100 = spread × active × 100 / total, exact in integers.
  return Number((spread * BigInt(activeTargets) * 100n) / total);
}

/** The pool state dmg shows after the client-side fix-ups of §5.14. */
export function fixPoolState(
  state: string,
  status: number,
  totalTargets: number,
  disabledTargets: number,
): string {
  let s = status === 0 ? "Ready" : state;
  if (totalTargets === 0) s = "Unknown";
  if (s === "Ready" && disabledTargets > 0) s = "TargetsExcluded";
  return s;
}

/**
 * The derived rebuild state (§5.14): idle/done/busy combined with a cancelled or failed
 * status; undefined when the plain state applies.
 */
export function derivedRebuildState(
  state: "idle" | "done" | "busy",
  status: number,
  canceled: boolean,
): string | undefined {
  const error = status !== 0 && !canceled;
  if (state === "idle" && canceled) return "stopped";
  if (state === "idle" && error) return "failed";
  if (state === "done" && error) return "failed";
  if (state === "busy" && canceled) return "stopping";
  if (state === "busy" && error) return "failing";
  return undefined;
}
