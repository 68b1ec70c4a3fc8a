/**
 * Test fixture of the MS operations without etcd or sockets: members, a scripted fan-out, and
 * an operation context over the write pipeline and the in-memory store.
 */
import { create } from "@bufbuild/protobuf";
import type { GroupUpdateReq } from "../../../proto/gen/ts/mgmt/srv_pb.ts";
import { type RankResult, RankResultSchema } from "../../../proto/gen/ts/shared/ranks_pb.ts";
import type { MemberStateWireName } from "../../lib/states.ts";
import type { DbState } from "../db.ts";
import type { Fanout, HostProbe, RanksMethod } from "../fanout.ts";
import { NilRank } from "../../lib/rankset.ts";
import type { JoinInput } from "../join.ts";
import type { Member } from "../member.ts";
import type { OpsContext } from "../ops/context.ts";
import { MemoryStore } from "../store_memory.ts";
import { WritePipeline } from "../writes.ts";

/** The time stamp the fixture's operations write. */
export const NOW = "2026-01-02T03:04:05.000Z";

/** Control address of fixture host `h` (1, 2, ...). */
export function host(h: number): string {
  return `10.0.0.${h}:10001`;
}

/** A storable member: rank `rank` on fixture host `h`, incarnation 1 unless given. */
export function member(
  rank: number,
  h: number,
  state: MemberStateWireName,
  extra: Partial<Member> = {},
): Member {
  return {
    rank,
    uuid: `00000000-0000-0000-0000-${rank.toString().padStart(12, "0")}`,
    addr: host(h),
    state,
    fault_domain: `/host${h}`,
    incarnation: "1",
    fabric_uri: `ofi+tcp://10.0.0.${h}:${20000 + rank}`,
    secondary_fabric_uris: [],
    fabric_contexts: 1,
    secondary_fabric_contexts: [],
    info: "",
    last_update: "before",
    ...extra,
  };
}

/** What a host answers for one rank: a result's fields, or "omit" (left out of the answer). */
export type RankReply = Partial<Pick<RankResult, "state" | "msg" | "errored">> | "omit";

/** The answer of a daos_server whose ranks all succeed, by method (as harness/rank_ops.ts). */
const DEFAULT_REPLY: Record<RanksMethod, RankReply> = {
  PrepShutdownRanks: { state: "stopping" },
  StopRanks: { state: "stopped", msg: "system stop" },
  StartRanks: { state: "ready", msg: "system start" },
  ResetFormatRanks: { state: "awaitformat" },
};

/** A scripted fan-out: hosts answer per method and rank; calls are recorded. */
export class FakeFanout implements Fanout {
  /** Calls made, in order. */
  readonly calls: { method: RanksMethod; addr: string; ranks: number[]; force: boolean }[] = [];
  /** Hosts whose every call fails (unreachable). */
  readonly down = new Set<string>();
  /** Replies differing from the default, by method then rank. */
  readonly replies = new Map<RanksMethod, Map<number, RankReply>>();
  /** Peer replicas told to erase their database. */
  readonly erased: string[] = [];
  /** Peer replicas that cannot be told to erase. */
  readonly eraseFails = new Set<string>();
  /** Probe answers by host (a missing host does not answer). */
  readonly probes = new Map<string, HostProbe>();
  /** Run after a call answered (e.g. an engine rejoining meanwhile). */
  after: (method: RanksMethod, ranks: number[]) => void = () => {};

  /** Sets the reply of `rank` to `method`. */
  reply(method: RanksMethod, rank: number, r: RankReply): this {
    if (!this.replies.has(method)) this.replies.set(method, new Map());
    this.replies.get(method)!.set(rank, r);
    return this;
  }

  callRanks(
    method: RanksMethod,
    byHost: Map<string, number[]>,
    force: boolean,
  ): Promise<RankResult[]> {
    const out: RankResult[] = [];
    for (const [addr, ranks] of byHost) {
      this.calls.push({ method, addr, ranks, force });
      if (this.down.has(addr)) return Promise.reject(new Error("connection refused"));
      for (const rank of ranks) {
        const r = this.replies.get(method)?.get(rank) ?? DEFAULT_REPLY[method];
        if (r === "omit") continue;
        out.push(create(RankResultSchema, { rank, ...r }));
      }
      this.after(method, ranks);
    }
    return Promise.resolve(out);
  }

  /** `rank` answers `method` with an error (state Errored, message `msg`). */
  fail(method: RanksMethod, rank: number, msg: string): this {
    return this.reply(method, rank, { state: "errored", errored: true, msg });
  }

  probeHost(addr: string): Promise<HostProbe | null> {
    return Promise.resolve(this.probes.get(addr) ?? null);
  }

  groupUpdate(_addr: string, _req: GroupUpdateReq): Promise<RankResult[]> {
    return Promise.resolve([]);
  }

  eraseReplica(addr: string): Promise<void> {
    if (this.eraseFails.has(addr)) return Promise.reject(new Error("unreachable"));
    this.erased.push(addr);
    return Promise.resolve();
  }
}

/** An operation context over an in-memory store, with what it wrote and logged. */
export interface OpsFixture {
  store: MemoryStore;
  writes: WritePipeline;
  fanout: FakeFanout;
  ctx: OpsContext;
  logs: string[];
  /** Commits that changed members (each requests a lazy group update). */
  memberCommits: number;
}

/** The fixture for `members` (and other initial database fields), this replica leading. */
export function opsFixture(
  members: Member[],
  init: Partial<Omit<DbState, "members">> = {},
  retryMs = 1000,
): OpsFixture {
  const store = new MemoryStore(members, init);
  const logs: string[] = [];
  const fanout = new FakeFanout();
  const fx: OpsFixture = {
    store,
    fanout,
    logs,
    memberCommits: 0,
    writes: new WritePipeline({
      store: () => store,
      retryMs,
      otherReplicas: () => ["10.0.0.8:10001", "10.0.0.9:10001"],
      onMembersChanged: () => fx.memberCommits++,
      log: (m) => logs.push(m),
    }),
    ctx: {
      controlPort: 10001,
      state: () => fx.writes.state(),
      write: (fn) => fx.writes.write(fn),
      fanout,
      log: (m) => logs.push(m),
      now: () => NOW,
    },
  };
  return fx;
}

/** The stored members as `rank state info` lines (what most expectations compare). */
export function summary(store: MemoryStore): string[] {
  return store.members().map((m) =>
    `${m.rank} ${m.state}${m.info === "" ? "" : ` ${m.info}`}${
      m.last_update === NOW ? "" : " (unchanged)"
    }`
  );
}

/** Results as `rank action state errored? msg` lines. */
export function results(rs: RankResult[]): string[] {
  return rs.map((r) =>
    `${r.rank} ${r.action} ${r.state}${r.errored ? " ERR" : ""}${r.msg === "" ? "" : ` ${r.msg}`}`
  );
}

/** A valid JoinReq of a new engine (no rank yet) on 10.0.0.1, fields overridden by `over`. */
export function joinInput(over: Partial<JoinInput> = {}): JoinInput {
  return {
    uuid: crypto.randomUUID(),
    rank: NilRank,
    uri: "ofi+tcp://10.0.0.1:31416",
    nctxs: 4,
    addr: "10.0.0.1:10001",
    srvFaultDomain: "/host1",
    idx: 0,
    incarnation: 1n,
    secondaryUris: [],
    secondaryNctxs: [],
    checkMode: false,
    replace: false,
    ...over,
  };
}
