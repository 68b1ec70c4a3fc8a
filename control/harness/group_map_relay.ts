/**
 * Host side of CtlSvc.GroupUpdate (ours, spec/server.md §2.8): the MS leader sends the system
 * group map to every host instead of one engine that broadcasts it over CaRT (we have none);
 * this host forwards it to each of its ready engines over dRPC GroupUpdate (mgmt 232). The
 * newest map is kept and handed to an engine when it becomes ready later, since a joiner is
 * usually not ready yet when the update that contains it arrives.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { NilRank } from "../lib/rankset.ts";
import {
  type GroupUpdateReq,
  GroupUpdateReqSchema,
  GroupUpdateRespSchema,
} from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { type RankResult, RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import { MgmtMethod } from "../drpc/ids.ts";
import { daosStatusString, errorText, faults, makeFault } from "../lib/fault.ts";
import { fabricUriProblem, quoteInput, rankProblem } from "../lib/member_fields.ts";
import { stateWireName } from "../lib/states.ts";
import type { HarnessLog } from "./types.ts";

/** What the relay needs of an engine instance (EngineInstance satisfies it). */
export interface RelayEngine {
  readonly index: number;
  rank(): number | null;
  isReady(): boolean;
  localState(): number;
  callMgmt(method: number, body: Uint8Array, timeoutMs?: number): Promise<Uint8Array>;
}

/** Default deadline of one engine's GroupUpdate dRPC. */
export const GROUP_UPDATE_DRPC_MS = 5_000;

/**
 * Refuses a group map that is not this system's (fault 603) or holds an entry an engine could
 * not use (a fault naming the entry): it comes over the network, from the MS leader or from
 * anyone who can reach the control port.
 */
export function checkGroupMap(req: GroupUpdateReq, system: string): void {
  if (req.sys !== system) throw faults.ServerWrongSystem(req.sys, system);
  if (req.engines.length === 0) throw new Error("empty group map (all ranks excluded?)");
  const seen = new Set<number>();
  req.engines.forEach((e, i) => {
    const problem = rankProblem(e.rank) ?? fabricUriProblem(e.uri) ??
      (seen.has(e.rank) ? `rank ${e.rank} listed twice` : null);
    if (problem !== null) {
      throw makeFault(
        "SystemUnknown",
        `group map ${req.mapVersion} refused: engines[${i}] (rank ${e.rank}, uri ${
          quoteInput(e.uri)
        }): ${problem}`,
        "group maps come from the MS leader of this system: check which host sent this one",
      );
    }
    seen.add(e.rank);
  });
}

/** Keeps the newest group map of this host and delivers it to the local engines. */
export class GroupMapRelay {
  #latest: GroupUpdateReq | null = null;

  constructor(
    private readonly engines: () => readonly RelayEngine[],
    private readonly controlAddr: string,
    private readonly log: HarnessLog,
  ) {}

  /** Forgets the map held (reset format: the next system's versions start again). */
  forget(): void {
    this.#latest = null;
  }

  /** The newest map received, or null. */
  latest(): GroupUpdateReq | null {
    return this.#latest;
  }

  /** Map version of the newest map received (0 when none). */
  latestVersion(): number {
    return this.#latest?.mapVersion ?? 0;
  }

  /**
   * Records `req` (unless a newer map is already held) and sends it to every ready engine.
   * One result per ready engine: errored with the engine's status when it refused the map.
   */
  async deliver(req: GroupUpdateReq, timeoutMs = GROUP_UPDATE_DRPC_MS): Promise<RankResult[]> {
    if (req.engines.length === 0) throw new Error("empty group map (all ranks excluded?)");
    // Set before looking at the engines: one that turns ready meanwhile gets it from onReady.
    if (this.#latest === null || req.mapVersion >= this.#latest.mapVersion) this.#latest = req;
    const ready = this.engines().filter((e) => e.isReady());
    return await Promise.all(ready.map((e) => this.#send(e, req, timeoutMs)));
  }

  /** An engine became ready: give it the newest map, if any (failures are logged). */
  async onReady(engine: RelayEngine, timeoutMs = GROUP_UPDATE_DRPC_MS): Promise<void> {
    const req = this.#latest;
    if (req === null) return;
    const r = await this.#send(engine, req, timeoutMs);
    if (r.errored) this.log.error(`group map ${req.mapVersion} to a new engine: ${r.msg}`);
  }

  async #send(e: RelayEngine, req: GroupUpdateReq, timeoutMs: number): Promise<RankResult> {
    const rank = e.rank() ?? NilRank;
    const out = (msg: string, errored: boolean) =>
      create(RankResultSchema, {
        rank,
        addr: this.controlAddr,
        state: stateWireName(e.localState()),
        errored,
        msg,
      });
    try {
      const body = await e.callMgmt(
        MgmtMethod.GROUP_UPDATE,
        toBinary(GroupUpdateReqSchema, req),
        timeoutMs,
      );
      const resp = fromBinary(GroupUpdateRespSchema, body);
      if (resp.status !== 0) {
        return out(
          `rank ${rank}: group update ${req.mapVersion} refused: ${daosStatusString(resp.status)}`,
          true,
        );
      }
      this.log.debug(`instance ${e.index} (rank ${rank}): group map ${req.mapVersion} sent`);
      return out("", false);
    } catch (err) {
      return out(`rank ${rank}: group update dRPC failed: ${errorText(err)}`, true);
    }
  }
}
