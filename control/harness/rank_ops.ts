/**
 * The local side of the CtlSvc *Ranks calls (spec/server.md §4.5): what a host does to its own
 * engines for system stop/start/erase, returning one shared.RankResult per targeted rank.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DaosRespSchema, PrepShutdownReqSchema } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { type RankResult, RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import { MgmtMethod } from "../drpc/ids.ts";
import { DrpcTimeoutError } from "../drpc/client.ts";
import { daosStatusString, errorText, FaultCode, makeFault } from "../lib/fault.ts";
import { MemberState, type MemberStateValue, stateName, stateWireName } from "../lib/states.ts";
import type { EngineHarness, RankFilter } from "./harness.ts";
import type { EngineInstance } from "./instance.ts";

/** Common options of the rank operations. */
export interface RankOpOptions {
  /** Overall deadline for the operation (the RPC's). */
  timeoutMs: number;
}

function result(
  h: EngineHarness,
  rank: number,
  state: MemberStateValue,
  msg = "",
  errored = false,
): RankResult {
  return create(RankResultSchema, {
    rank,
    state: stateWireName(state),
    msg,
    errored,
    addr: h.controlAddr,
  });
}

function isEmpty(ranks: RankFilter): boolean {
  if ("empty" in ranks && typeof ranks.empty === "boolean") return ranks.empty;
  if (Symbol.iterator in ranks) {
    return (ranks as Iterable<number>)[Symbol.iterator]().next().done === true;
  }
  return false;
}

function targets(h: EngineHarness, ranks: RankFilter): EngineInstance[] {
  if (isEmpty(ranks)) throw new Error("no ranks specified in request");
  return h.instancesByRanks(ranks);
}

/** Targets of a manual stop or start, whose auto-restart history it clears (server.md §4.4). */
function manualTargets(h: EngineHarness, ranks: RankFilter): EngineInstance[] {
  const insts = targets(h, ranks);
  h.clearRestartHistory(insts.map((i) => i.rank()!));
  return insts;
}

/**
 * PrepShutdownRanks: dRPC PrepShutdown to each ready targeted instance → Stopping; a timeout →
 * Unresponsive; a failure → Errored; instances not ready → their state (Stopped when down).
 */
export async function prepShutdownRanks(
  h: EngineHarness,
  ranks: RankFilter,
  opts: RankOpOptions,
): Promise<RankResult[]> {
  return await Promise.all(
    targets(h, ranks).map(async (inst) => {
      const rank = inst.rank()!;
      if (!inst.isReady()) {
        const st = inst.localState();
        return result(h, rank, st === MemberState.Starting ? st : MemberState.Stopped);
      }
      try {
        const body = await inst.callMgmt(
          MgmtMethod.PREP_SHUTDOWN,
          toBinary(PrepShutdownReqSchema, create(PrepShutdownReqSchema, { rank })),
          opts.timeoutMs,
        );
        const resp = fromBinary(DaosRespSchema, body);
        if (resp.status !== 0) {
          return result(
            h,
            rank,
            MemberState.Errored,
            `rank ${rank}: ${daosStatusString(resp.status)}`,
            true,
          );
        }
        return result(h, rank, MemberState.Stopping);
      } catch (e) {
        if (e instanceof DrpcTimeoutError) {
          return result(
            h,
            rank,
            MemberState.Unresponsive,
            `rank ${rank} dRPC failed: ${e.message}`,
            true,
          );
        }
        return result(
          h,
          rank,
          MemberState.Errored,
          `rank ${rank} dRPC failed: ${errorText(e)}`,
          true,
        );
      }
    }),
  );
}

/** Options of stopRanks. */
export interface StopOptions extends RankOpOptions {
  /** SIGKILL at once instead of SIGTERM. */
  force: boolean;
  /** After SIGTERM, SIGKILL engines still running after this long. Default: timeoutMs / 2. */
  killAfterMs?: number;
}

/**
 * StopRanks: SIGTERM (SIGKILL when forced, or for engines still running after killAfterMs) to
 * every started targeted instance, wait until stopped → Stopped `system stop`, else Errored
 * `system stop: rank failed to stop`. No engine_died events are raised for these exits.
 */
export async function stopRanks(
  h: EngineHarness,
  ranks: RankFilter,
  opts: StopOptions,
): Promise<RankResult[]> {
  const insts = manualTargets(h, ranks);
  const killAfter = Math.min(opts.killAfterMs ?? opts.timeoutMs / 2, opts.timeoutMs);
  const stopped = (i: EngineInstance) => !i.isStarted();
  await Promise.all(insts.map(async (inst) => {
    if (!inst.stop(opts.force ? "SIGKILL" : "SIGTERM")) return;
    if (opts.force) {
      await inst.waitFor(stopped, opts.timeoutMs);
      return;
    }
    if (await inst.waitFor(stopped, killAfter)) return;
    inst.stop("SIGKILL");
    await inst.waitFor(stopped, Math.max(0, opts.timeoutMs - killAfter));
  }));
  return insts.map((inst) =>
    inst.localState() === MemberState.Stopped
      ? result(h, inst.rank()!, MemberState.Stopped, "system stop")
      : result(h, inst.rank()!, MemberState.Errored, "system stop: rank failed to stop", true)
  );
}

/** Options of startRanks. */
export interface StartOptions extends RankOpOptions {
  checkMode?: boolean;
}

/**
 * StartRanks: set the checker mode, request a start of each stopped targeted instance (and a
 * restart of one whose start-up failed: running but not ready) and wait until it is Ready →
 * Ready `system start`. Else Errored `system start: rank failed to start: <why>`, as soon as
 * this start failed (a start-up attempt failed, even one retried in the background, the engine
 * exited, or it waits for storage format), or at the deadline.
 */
export async function startRanks(
  h: EngineHarness,
  ranks: RankFilter,
  opts: StartOptions,
): Promise<RankResult[]> {
  const insts = manualTargets(h, ranks);
  // What was there before this start: only an attempt or failure after it ends the wait.
  const before = new Map<EngineInstance, { attempts: number; failures: number }>();
  for (const inst of insts) {
    inst.setCheckMode(opts.checkMode ?? false);
    if (inst.isReady()) continue;
    const b = { attempts: inst.startAttempts(), failures: inst.startupFailures() };
    before.set(inst, b);
    // An attempt in progress (format wait, starting engine) counts as this start's.
    if (!inst.isStarted()) {
      if (inst.isStartPending()) b.attempts--;
      else inst.requestStart();
    } else if (!inst.restartFailedStartup()) b.attempts--;
  }
  const settled = (i: EngineInstance): boolean => {
    if (i.isReady()) return true;
    const b = before.get(i);
    if (b === undefined || i.startAttempts() <= b.attempts) return false;
    return i.startupFailures() > b.failures || i.isAwaitingFormat() ||
      (!i.isStarted() && !i.isStartPending());
  };
  await Promise.all(insts.map((i) => i.waitFor(settled, opts.timeoutMs)));
  return insts.map((inst) => {
    if (inst.localState() === MemberState.Ready) {
      return result(h, inst.rank()!, MemberState.Ready, "system start");
    }
    return result(h, inst.rank()!, MemberState.Errored, startFailure(inst), true);
  });
}

/** The StartRanks failure text, with the cause the instance recorded (server.md §4.5). */
function startFailure(inst: EngineInstance): string {
  const base = "system start: rank failed to start";
  const i = inst.info();
  if (inst.isAwaitingFormat()) return `${base}: storage format required`;
  const why = i.lastError ?? (i.lastExitStatus !== null ? `exited: ${i.lastExitStatus}` : null);
  if (why === null) return base;
  return inst.isRetryingStartup()
    ? `${base}: ${why} (start-up retried in the background)`
    : `${base}: ${why}`;
}

/**
 * ResetFormatRanks: every targeted instance must be stopped (fault 612 otherwise); remove its
 * superblock and erase its storage (ram SCM unmounted; the control_metadata device too once
 * every local engine is reset and stopped), request a start and wait until it awaits format →
 * AwaitFormat, else an error `want AwaitFormat, got <state>` (or the erase failure).
 */
export async function resetFormatRanks(
  h: EngineHarness,
  ranks: RankFilter,
  opts: RankOpOptions,
): Promise<RankResult[]> {
  const insts = targets(h, ranks);
  const saved = new Map<EngineInstance, number>();
  for (const inst of insts) {
    const rank = inst.rank()!;
    saved.set(inst, rank);
    if (inst.isStarted()) {
      throw makeFault(
        FaultCode.ServerInstancesNotStopped,
        `reset format not supported when rank ${rank} is running`,
        `retry the operation after stopping rank ${rank}`,
      );
    }
  }
  // The map held for late-ready engines belongs to the system being erased.
  h.groupMap.forget();
  const failed = new Map<EngineInstance, string>();
  for (const inst of insts) {
    try {
      await inst.eraseStorage();
    } catch (e) {
      failed.set(inst, `reset format: ${errorText(e)}`);
    }
  }
  // Host-wide storage goes only when no local engine is left running or formatted.
  const targeted = new Set(insts);
  if (h.instances.every((i) => targeted.has(i) && !i.isStarted())) {
    try {
      await h.eraseHostStorage();
    } catch (e) {
      for (const inst of insts) failed.set(inst, `reset format: ${errorText(e)}`);
    }
  }
  for (const inst of insts) inst.requestStart();
  await Promise.all(insts.map((i) => i.waitFor((x) => x.isAwaitingFormat(), opts.timeoutMs)));
  return insts.map((inst) => {
    const st = inst.localState();
    const err = failed.get(inst);
    if (err !== undefined) return result(h, saved.get(inst)!, st, err, true);
    return st === MemberState.AwaitFormat
      ? result(h, saved.get(inst)!, st)
      : result(h, saved.get(inst)!, st, `want AwaitFormat, got ${stateName(st)}`, true);
  });
}

/**
 * PingRanks (ours): this host's ranks as they are locally, for the MS leader's liveness probe:
 * state (ready only when joined, set up and running) and the running engine's incarnation (0
 * unless ready). Touches no engine; an empty filter means every instance that has a rank.
 */
export function pingRanks(h: EngineHarness, ranks: RankFilter): RankResult[] {
  const insts = isEmpty(ranks) ? h.instances : h.instancesByRanks(ranks);
  return insts.filter((i) => i.rank() !== null).map((i) => {
    const r = result(h, i.rank()!, i.localState());
    r.incarnation = i.isReady() ? i.info().incarnation : 0n;
    return r;
  });
}
