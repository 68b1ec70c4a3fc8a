/**
 * The management service (MS) of one daos_server: replica/leader checks, the leader's cached
 * membership database with serialized fenced writes, batched joins, system operations fanned
 * out to hosts, engine-death events and host liveness probing.
 *
 * Failure detection of vanished daos_servers (design choice): the leader probes every member
 * host's control address (`fanout.probeHost`, else `pingHost`, else a TCP connect) every
 * `probeIntervalMs`; a host unreachable for `hostDeadAfterMs` has its ranks marked
 * Unresponsive. Non-replicas therefore never need etcd. The same probe undoes false positives:
 * a host that answers again with an Unresponsive rank's engine ready under the same
 * incarnation gets that rank back as Joined (README.md, "Recovery of Unresponsive ranks").
 */
import { create } from "@bufbuild/protobuf";
import { type Fault, faults, makeFault } from "../lib/fault.ts";
import {
  MS_DB_UNAVAILABLE,
  MsUnavailableError,
  NotLeaderError,
  NotReplicaError,
} from "../lib/rpc/error_codec.ts";
import { type RankResult, RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import type { GroupUpdateReq } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import {
  type DbChanges,
  type DbState,
  type InvalidRecord,
  isEmpty,
  MembershipDb,
  noChanges,
} from "./db.ts";
import { type MgmtSvcDbConfig } from "./db_config.ts";
import { Election } from "./election.ts";
import { ATTR_GROUP_UPDATE_PAUSED, GroupUpdater, mayResume } from "./group_update.ts";
import { EtcdClient, isTransientEtcdError } from "./etcd_client.ts";
import { describeEtcdExit, etcdEndpoints, EtcdMember } from "./etcd_member.ts";
import {
  applyJoin,
  ATTR_PROVIDERS,
  Draft,
  type JoinInput,
  type JoinOutcome,
  validateJoinInput,
} from "./join.ts";
import {
  addrHost,
  isLegalTransition,
  type Member,
  type MemberState,
  STATE_BITS,
} from "./member.ts";
import { NilRank, parseRankSet, RankSet } from "../lib/rankset.ts";
import { HostSet, parseHostList } from "../lib/hostlist.ts";
import {
  applyResults,
  checkStarted,
  ranksByHost,
  selectInvalid,
  type Selection,
  selectMembers,
} from "./system_ops.ts";
import { memberInfo } from "../lib/member_fields.ts";
import { checkRequestSystem } from "../lib/system_name.ts";

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

/**
 * Members on `addr` the MS holds Unresponsive although the host reports their engine ready with
 * the same incarnation (a false positive of the probe or a healed partition), back as Joined:
 * what a Join of that very engine would record. Pure; the leader commits the result.
 */
export function restoredMembers(
  members: Iterable<Member>,
  addr: string,
  ranks: LocalRank[],
  now: string,
): Member[] {
  const ready = new Map(
    ranks.filter((r) => r.state === "ready" && r.incarnation !== 0n).map((r) => [
      r.rank,
      r.incarnation,
    ]),
  );
  const out: Member[] = [];
  for (const m of members) {
    if (m.addr !== addr || m.state !== "unresponsive") continue;
    const inc = ready.get(m.rank);
    if (inc === undefined || inc.toString() !== m.incarnation) continue;
    out.push({ ...m, state: "joined", info: "", last_update: now });
  }
  return out;
}

/** The result reporting an invalid member record removed by SystemExclude. */
function removedResult(r: InvalidRecord): RankResult {
  return create(RankResultSchema, {
    rank: r.rank ?? NilRank,
    action: "remove invalid member record",
    state: "",
    // The stored address may be what made the record invalid: report it only when sane.
    addr: r.addr.length <= 260 ? r.addr : "",
    msg: `${r.key}: ${r.problem}`,
  });
}

/**
 * The error an MS request gets when the replica's etcd does not answer (down, restarting, or
 * stuck, e.g. on a full filesystem): it names the database and where to look, instead of
 * passing on the etcd client's text (a refused connection or a deadline on a port the
 * operator never configured, which reads like dmg's own connection failing).
 */
export function msDbUnavailable(cause: unknown, endpoints: string[], self: string): Fault {
  const why = cause instanceof Error ? cause.message : String(cause);
  return makeFault(
    "SystemUnknown",
    `the MS database is unavailable: etcd at ${
      endpoints.map((e) => e.replace(/^[a-z]+:\/\//, "")).join(",")
    } did not answer (${why})`,
    `check the control log of MS replica ${self} and the space left on the filesystem ` +
      "holding its MS database (control_metadata path or engine 0's SCM mount), then retry",
    cause,
  ).withReason(MS_DB_UNAVAILABLE);
}

/** What the MS needs from daos_server's configuration. */
export interface MsConfig {
  system: string;
  /** mgmt_svc_replicas, resolved to "IP:port". */
  replicas: string[];
  /** Configured fabric provider (becomes attribute mgmt.fabric_providers). */
  provider: string;
  db: MgmtSvcDbConfig;
  /** Local etcd data directory (see mgmtDbDir); unused with db.endpoints. */
  dataDir: string;
  /** Default control port for host filters without a port. */
  controlPort?: number;
}

/** Arguments of {@link startManagementService}. */
export interface MsOptions {
  config: MsConfig;
  /** This server's control address "IP:port". */
  selfAddr: string;
  isReplica: boolean;
  fanout: Fanout;
  log?: (msg: string) => void;
}

const SELF_HEAL_DEFAULT = "exclude;pool_exclude;pool_rebuild";
const MAX_JOINS_PER_TXN = 100; // etcd --max-txn-ops defaults to 128

interface PendingJoin {
  input: JoinInput;
  peerHost?: string;
  resolve: (o: JoinOutcome & { mapVersion: number }) => void;
  reject: (e: unknown) => void;
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

/** One server's management service. */
export class ManagementService {
  readonly config: MsConfig;
  readonly self: string;
  readonly isReplica: boolean;
  readonly fanout: Fanout;
  readonly log: (msg: string) => void;
  member: EtcdMember | null = null;
  etcd: EtcdClient | null = null;
  election: Election | null = null;
  db: MembershipDb | null = null;
  #cache: DbState | null = null;
  #stepUp: Promise<void> | null = null;
  #writeChain: Promise<unknown> = Promise.resolve();
  #joins: PendingJoin[] = [];
  #draining = false;
  #probeTimer: ReturnType<typeof setInterval> | null = null;
  #probing = false;
  #lastSeen = new Map<string, number>();
  #erased: PromiseWithResolvers<void> = Promise.withResolvers();
  /** Invalid member records already reported in the log (key + problem). */
  #reported = new Set<string>();
  /** The leader's group updates (started on gaining leadership). */
  readonly groups: GroupUpdater;

  constructor(opts: MsOptions) {
    this.config = opts.config;
    this.self = opts.selfAddr;
    this.isReplica = opts.isReplica;
    this.fanout = opts.fanout;
    this.log = opts.log ?? (() => {});
    this.groups = new GroupUpdater({
      system: this.config.system,
      state: () => this.#state(),
      bumpMapVersion: () => this.#write(() => ({ ...noChanges(), extraMapIncrements: 1 })),
      send: (addr, req) => {
        if (!this.fanout.groupUpdate) throw new Error("no group update delivery configured");
        return this.fanout.groupUpdate(addr, req);
      },
      log: this.log,
    });
  }

  /**
   * True when group maps can be delivered (Fanout.groupUpdate). Without it no updates run at
   * all: neither map-version increments nor per-host attempts that could only fail (these cost
   * one error per member host after every join batch).
   */
  get #groupUpdates(): boolean {
    return this.fanout.groupUpdate !== undefined;
  }

  #requestGroupUpdate(immediate = false): void {
    if (!this.#groupUpdates) return;
    if (immediate) this.groups.requestImmediate();
    else this.groups.requestLazy();
  }

  /** Replicas other than this one (for not-leader hints). */
  otherReplicas(): string[] {
    return this.config.replicas.filter((r) => r !== this.self);
  }

  /**
   * Starts the database side (call when this replica's storage is ready): the local etcd member
   * (unless external endpoints are configured), the client and the election. No-op on
   * non-replicas.
   */
  async startDb(): Promise<void> {
    if (!this.isReplica || this.etcd) return;
    this.#erased = Promise.withResolvers();
    const db = this.config.db;
    if (db.endpoints.length === 0) {
      this.member = new EtcdMember({
        self: this.self,
        replicas: this.config.replicas,
        system: this.config.system,
        dataDir: this.config.dataDir,
        db,
      });
      this.member.onExit = (e) => this.log(describeEtcdExit(e));
      await this.member.start();
      if (this.member.reaped !== undefined) {
        this.log(
          `stopped a stale etcd member (pid ${this.member.reaped}) left by an earlier daos_server`,
        );
      }
      // The etcd client's circuit breaker backs off for seconds after a refused connection, so
      // wait (bounded) until the local member listens before using it.
      const url = new URL(etcdEndpoints(db, this.self)[0]);
      const end = Date.now() + 10000;
      while (Date.now() < end && !(await tcpProbe(`${url.hostname}:${url.port}`, 200))) {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    this.etcd = new EtcdClient(
      etcdEndpoints(db, this.self),
      db.callTimeoutMs,
    );
    this.db = new MembershipDb(this.etcd, this.config.system);
    this.election = new Election(this.etcd, this.db.prefix, this.self, db.leaseTtlS);
    this.election.onChange = (leader) => this.#onLeadership(leader);
    this.election.start();
  }

  /**
   * Resolves when a system erase stopped and deleted this replica's local database (then
   * daos_server starts it afresh once engine 0's storage is formatted again), or on stop().
   */
  whenErased(): Promise<void> {
    return this.#erased.promise;
  }

  /** Stops campaigning, probing and the local etcd member. */
  async stop(): Promise<void> {
    this.#erased.resolve();
    this.#stopProbing();
    this.groups.stop();
    await this.election?.stop();
    this.etcd?.close();
    await this.member?.stop();
    this.election = null;
    this.etcd = null;
    this.member = null;
    for (const j of this.#joins.splice(0)) {
      j.reject(new NotLeaderError("", this.otherReplicas()));
    }
  }

  /**
   * Stops at once without resigning and SIGKILLs the local etcd member, as if this server
   * crashed (fatal errors; failover tests and benches). Peers take over after the lease TTL.
   */
  async crash(): Promise<void> {
    this.#stopProbing();
    this.groups.stop();
    await this.election?.abandon();
    this.etcd?.close();
    const pid = this.member?.pid;
    if (pid) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already gone */ }
    }
    await this.member?.stop();
    this.election = null;
    this.etcd = null;
    this.member = null;
    for (const j of this.#joins.splice(0)) {
      j.reject(new NotLeaderError("", this.otherReplicas()));
    }
  }

  #onLeadership(leader: boolean): void {
    this.#cache = null;
    if (!leader) {
      this.#stopProbing();
      this.groups.stop();
      this.#stepUp = null;
      this.log("lost MS leadership");
      return;
    }
    this.log("gained MS leadership");
    this.#stepUp = this.#stepUpTasks().catch(async (e) => {
      this.log(`leader step-up failed, resigning: ${e}`);
      this.#stepUp = null;
      await this.election?.resign();
    });
  }

  async #stepUpTasks(): Promise<void> {
    await this.#write((s) => {
      const c = noChanges();
      const cur = s.attrs.get(ATTR_PROVIDERS);
      if (cur === undefined || cur === "") c.attrs[ATTR_PROVIDERS] = this.config.provider;
      else if (cur !== this.config.provider) {
        const anyJoined = [...s.members.values()].some((m) => m.state === "joined");
        if (anyJoined) {
          this.log(
            `configured provider ${this.config.provider} differs from system provider ${cur}; not changed while ranks are joined`,
          );
        } else c.attrs[ATTR_PROVIDERS] = this.config.provider;
      }
      return c;
    });
    this.#lastSeen.clear();
    this.#startProbing();
    // A new leader tells the engines the map as it knows it (with a version increment).
    this.groups.start();
    const s = await this.#state();
    if (s.members.size > 0) this.#requestGroupUpdate(true);
  }

  // ---- pre-checks -------------------------------------------------------------------------

  /** Fault 603 unless `sys` names this system. */
  checkSystem(sys: string): void {
    checkRequestSystem(sys, this.config.system);
  }

  /** Throws not-replica on non-replicas and "uninitialized" before the DB runs. */
  requireReplica(): { etcd: EtcdClient; db: MembershipDb; election: Election } {
    if (!this.isReplica) throw new NotReplicaError(this.config.replicas);
    if (!this.etcd || !this.db || !this.election) {
      throw new MsUnavailableError("uninitialized");
    }
    return { etcd: this.etcd, db: this.db, election: this.election };
  }

  /** Throws not-leader (with hint) unless this replica leads; waits for step-up to finish. */
  async requireLeader(): Promise<void> {
    const { election } = this.requireReplica();
    const v = election.view();
    if (!v.isLeader) {
      throw new NotLeaderError(v.leader === this.self ? "" : v.leader, this.otherReplicas());
    }
    if (this.#stepUp) await this.#stepUp;
    if (!election.view().isLeader) {
      throw new NotLeaderError(election.view().leader, this.otherReplicas());
    }
  }

  // ---- leader writes ----------------------------------------------------------------------

  /**
   * Serialized fenced write: `fn` computes changes from the current state; retried on a stale
   * snapshot, NotLeader when deposed. Transient etcd failures (a slow call under a burst of
   * joins, a dropped connection) are retried too, for a bounded time, while this replica still
   * leads: the fence keeps a deposed leader from writing, and an ambiguous commit is resolved by
   * its txn id. `fn` must be deterministic for a given state (it may be called again on the
   * same snapshot, whose result then replaces an earlier attempt still in flight).
   */
  #write(fn: (s: DbState) => DbChanges): Promise<DbState> {
    const run = async (): Promise<DbState> => {
      const { db, election } = this.requireReplica();
      const retryUntil = Date.now() + this.config.db.writeRetryMs;
      // An attempt whose outcome is unknown: it may still apply, but only on its base revision.
      let pending: { txnId: string; baseRev: bigint } | null = null;
      let conflicts = 0;
      let transient = 0;
      while (conflicts < 5) {
        try {
          const base = this.#cache ?? await this.#read(db);
          this.#cache = base;
          if (pending && base.lastTxn === pending.txnId) return base; // it did apply
          const changes = fn(base);
          if (isEmpty(changes)) return base;
          let fence;
          try {
            fence = election.fence();
          } catch {
            throw new NotLeaderError(election.view().leader, this.otherReplicas());
          }
          // Same base as the unresolved attempt: same changes, same id, so at most one applies.
          const prev = pending as { txnId: string; baseRev: bigint } | null;
          const txnId: string = prev !== null && prev.baseRev === base.metaRev
            ? prev.txnId
            : crypto.randomUUID();
          pending = { txnId, baseRev: base.metaRev };
          const next = await db.commit(fence, base, changes, txnId);
          if (next) {
            this.#cache = next;
            // Member changes reach the engines with the next lazy update.
            if (changes.put.length > 0 || changes.remove.length > 0) this.#requestGroupUpdate();
            return next;
          }
          this.#cache = null; // stale snapshot or lost fence: re-read and re-check
          conflicts++;
          if (!election.view().isLeader) break;
        } catch (e) {
          this.#cache = null;
          if (
            !isTransientEtcdError(e) || !election.view().isLeader || Date.now() >= retryUntil
          ) throw this.#dbError(e);
          transient++;
          this.log(`MS write: transient etcd error (attempt ${transient}), retrying: ${e}`);
          await new Promise((r) => setTimeout(r, Math.min(20 * 2 ** transient, 200)));
        }
      }
      throw new NotLeaderError(election.view().leader, this.otherReplicas());
    };
    const p = this.#writeChain.then(run, run);
    this.#writeChain = p.catch(() => {});
    return p;
  }

  /** Current state for the leader (cached) or any replica (fresh read). */
  async #state(): Promise<DbState> {
    const { db, election } = this.requireReplica();
    if (election.view().isLeader && this.#cache) return this.#cache;
    try {
      return await this.#read(db);
    } catch (e) {
      throw this.#dbError(e);
    }
  }

  /** A transient etcd failure as the MS answers it (see {@link msDbUnavailable}). */
  #dbError(e: unknown): unknown {
    if (!isTransientEtcdError(e)) return e;
    return msDbUnavailable(e, etcdEndpoints(this.config.db, this.self), this.self);
  }

  /** Reads the database and reports member records it had to set aside (once each). */
  async #read(db: MembershipDb): Promise<DbState> {
    const s = await db.read();
    for (const r of s.invalid) {
      const id = `${r.key}\n${r.problem}`;
      if (this.#reported.has(id)) continue;
      this.#reported.add(id);
      const how = r.rank !== null
        ? `dmg system exclude --ranks ${r.rank}`
        : r.addr !== ""
        ? `dmg system exclude --rank-hosts ${r.addr}`
        : "dmg system erase";
      this.log(
        `invalid member record ${r.key} ignored (left out of queries, group maps and system operations): ${r.problem}; remove it with ${how}`,
      );
    }
    return s;
  }

  // ---- join -------------------------------------------------------------------------------

  /** Processes a JoinReq (leader only); concurrent joins are batched into shared transactions. */
  async join(
    input: JoinInput,
    peerHost?: string,
  ): Promise<JoinOutcome & { mapVersion: number }> {
    // Refused before it is queued: nothing of a bad request reaches the database.
    validateJoinInput(input);
    await this.requireLeader();
    return await new Promise((resolve, reject) => {
      this.#joins.push({ input, peerHost, resolve, reject });
      if (!this.#draining) this.#drainJoins();
    });
  }

  async #drainJoins(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#joins.length > 0) {
        const batch = this.#joins.splice(0, MAX_JOINS_PER_TXN);
        const now = new Date().toISOString();
        let outcomes: (JoinOutcome | Error)[] = [];
        try {
          const state = await this.#write((s) => {
            const draft = new Draft({
              ...s,
              members: new Map([...s.members].map(([k, m]) => [k, { ...m }])),
              attrs: new Map(s.attrs),
            });
            outcomes = batch.map((j) => {
              try {
                return applyJoin(draft, j.input, now, j.peerHost);
              } catch (e) {
                return e instanceof Error ? e : new Error(String(e));
              }
            });
            // Paused group updates resume once every member is back (§2.5 step 7).
            if (
              draft.state.attrs.get(ATTR_GROUP_UPDATE_PAUSED) === "true" &&
              mayResume(draft.state.members.values())
            ) draft.changes.attrs[ATTR_GROUP_UPDATE_PAUSED] = "";
            return draft.changes;
          });
          batch.forEach((j, i) => {
            const o = outcomes[i];
            if (o instanceof Error) j.reject(o);
            else j.resolve({ ...o, mapVersion: state.mapVersion });
          });
          if (outcomes.some((o) => !(o instanceof Error))) this.#requestGroupUpdate(true);
        } catch (e) {
          for (const j of batch) j.reject(e);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  // ---- queries ----------------------------------------------------------------------------

  /** SystemQuery (any replica). */
  async query(ranks: string, hosts: string, stateMask: number): Promise<{
    members: Member[];
    absentRanks: string;
    absentHosts: string;
    dataVersion: bigint;
    providers: string[];
    selfHeal: string;
  }> {
    this.requireReplica();
    const s = await this.#state();
    if (s.members.size === 0 && ranks === "" && hosts === "") {
      throw new MsUnavailableError("unavailable");
    }
    const sel = selectMembers(
      s.members.values(),
      ranks,
      hosts,
      this.config.controlPort,
      "SystemQueryReq",
    );
    const mask = stateMask === 0 ? 0xffff : stateMask;
    const prov = s.attrs.get(ATTR_PROVIDERS) ?? "";
    return {
      members: sel.members.filter((m) => (STATE_BITS[m.state] & mask) !== 0),
      absentRanks: sel.absentRanks,
      absentHosts: sel.absentHosts,
      dataVersion: s.version,
      providers: prov === "" ? [] : prov.split(","),
      selfHeal: s.attrs.get("prop.self_heal") ?? SELF_HEAL_DEFAULT,
    };
  }

  /** LeaderQuery: leader address, replicas, replicas not campaigning (down). */
  async leaderQuery(): Promise<{ leader: string; replicas: string[]; down: string[] }> {
    const { etcd, db, election } = this.requireReplica();
    let down: string[] = [];
    try {
      const { kvs } = await etcd.getPrefix(`${db.prefix}/election/`);
      const up = new Set(kvs.map((k) => k.value));
      down = this.config.replicas.filter((r) => !up.has(r));
    } catch {
      down = this.config.replicas.filter((r) => r !== this.self);
    }
    return { leader: election.view().leader, replicas: [...this.config.replicas], down };
  }

  // ---- system operations ------------------------------------------------------------------

  async #select(ranks: string, hosts: string, req: string): Promise<Selection> {
    const s = await this.#state();
    return selectMembers(s.members.values(), ranks, hosts, this.config.controlPort, req);
  }

  /** Fans `method` out per host in parallel; unreachable hosts give Unresponsive results. */
  async #fan(method: RanksMethod, members: Member[], force: boolean): Promise<RankResult[]> {
    const byHost = ranksByHost(members);
    const parts = await Promise.all([...byHost].map(async ([addr, ranks]) => {
      try {
        const res = await this.fanout.callRanks(method, new Map([[addr, ranks]]), force);
        const seen = new Set(res.map((r) => r.rank));
        const missing = ranks.filter((r) => !seen.has(r)).map((rank) =>
          create(RankResultSchema, {
            rank,
            addr,
            errored: true,
            state: "unresponsive",
            msg: `no result for rank ${rank} from ${addr}`,
          })
        );
        return [...res.map((r) => ({ ...r, addr: r.addr || addr })), ...missing];
      } catch (e) {
        return ranks.map((rank) =>
          create(RankResultSchema, {
            rank,
            addr,
            errored: true,
            state: "unresponsive",
            msg: `${addr}: ${e instanceof Error ? e.message : String(e)}`,
          })
        );
      }
    }));
    return parts.flat().sort((a, b) => a.rank - b.rank);
  }

  async #applyResults(results: RankResult[]): Promise<void> {
    const now = new Date().toISOString();
    await this.#write((s) => ({ ...noChanges(), put: applyResults(s.members, results, now) }));
  }

  #adminExcludedCheck(sel: Selection, ignore: boolean): Member[] {
    const ax = sel.members.filter((m) => m.state === "adminexcluded");
    if (sel.explicit && !ignore && ax.length > 0) {
      throw faults.ServerRankAdminExcluded(
        RankSet.fromRanks(ax.map((m) => m.rank)).toString(),
        ax.length > 1,
      );
    }
    return sel.members.filter((m) => m.state !== "adminexcluded");
  }

  /** SystemStop (leader): prep shutdown unless forced, then stop. */
  async systemStop(
    req: { ranks: string; hosts: string; force: boolean; ignoreAdminExcluded: boolean },
  ): Promise<{ results: RankResult[]; absentRanks: string; absentHosts: string }> {
    await this.requireLeader();
    const sel = await this.#select(req.ranks, req.hosts, "SystemStopReq");
    const targets = this.#adminExcludedCheck(sel, req.ignoreAdminExcluded);
    const out = (results: RankResult[]) => ({
      results,
      absentRanks: sel.absentRanks,
      absentHosts: sel.absentHosts,
    });
    if (targets.length === 0) return out([]);
    if (!req.force) {
      const prep = (await this.#fan("PrepShutdownRanks", targets, false)).map((r) => ({
        ...r,
        action: "prep shutdown",
      }));
      if (prep.some((r) => r.errored)) {
        await this.#applyResults(prep);
        return out(prep);
      }
      await this.#applyResults(prep);
    }
    const stop = (await this.#fan("StopRanks", targets, req.force)).map((r) => ({
      ...r,
      action: "stop",
    }));
    await this.#applyResults(stop);
    return out(stop);
  }

  /** SystemStart (leader). */
  async systemStart(
    req: { ranks: string; hosts: string; ignoreAdminExcluded: boolean },
  ): Promise<{ results: RankResult[]; absentRanks: string; absentHosts: string }> {
    await this.requireLeader();
    const sel = await this.#select(req.ranks, req.hosts, "SystemStartReq");
    const targets = this.#adminExcludedCheck(sel, req.ignoreAdminExcluded);
    const started = targets.length === 0
      ? []
      : (await this.#fan("StartRanks", targets, false)).map((r) => ({ ...r, action: "start" }));
    await this.#applyResults(started);
    // "OK" only for ranks the system now has Joined (a ready engine may still be excluded).
    const results = checkStarted((await this.#state()).members.values(), started);
    return { results, absentRanks: sel.absentRanks, absentHosts: sel.absentHosts };
  }

  /**
   * SystemExclude (leader): set or clear the AdminExcluded state. Exclude also removes the
   * invalid member records (see db.ts) it names by rank or host: they cannot be excluded, being
   * no members, and this is how an operator gets rid of them without erasing the system.
   */
  async systemExclude(
    req: { ranks: string; hosts: string; clear: boolean },
  ): Promise<RankResult[]> {
    await this.requireLeader();
    if (req.ranks === "" && req.hosts === "") throw new Error("no hosts or ranks specified");
    const st0 = await this.#state();
    const port = this.config.controlPort;
    const sel = selectMembers(st0.members.values(), req.ranks, req.hosts, port, "SystemExcludeReq");
    const bad = req.clear
      ? { records: [], ranks: new Set<number>(), hosts: new Set<string>() }
      : selectInvalid(st0.invalid, req.ranks, req.hosts, port, "SystemExcludeReq");
    const absentHosts = sel.absentHosts === ""
      ? []
      : parseHostList(sel.absentHosts).expand().filter((h) => !bad.hosts.has(h));
    const absentRanks = parseRankSet(sel.absentRanks);
    for (const r of bad.ranks) absentRanks.delete(r);
    if (absentHosts.length > 0) {
      throw new Error(`invalid host(s): ${HostSet.fromHosts(absentHosts).toString()}`);
    }
    if (!absentRanks.empty) throw new Error(`invalid rank(s): ${absentRanks.toString()}`);
    const to: MemberState = req.clear ? "excluded" : "adminexcluded";
    const action = req.clear ? "clear admin-excluded state" : "set admin-excluded state";
    const ranks = new Set(sel.members.map((m) => m.rank));
    const gone = new Set(bad.records.map((r) => r.uuid));
    const now = new Date().toISOString();
    const s = await this.#write((st) => ({
      ...noChanges(),
      put: [...st.members.values()].filter((m) => ranks.has(m.rank) && m.state !== to)
        .map((m) => ({ ...m, state: to, info: "", last_update: now })),
      remove: st.invalid.filter((r) => gone.has(r.uuid)).map((r) => r.uuid),
    }));
    for (const r of bad.records) {
      this.log(`invalid member record ${r.key} removed (system exclude): ${r.problem}`);
    }
    return [
      ...[...s.members.values()].filter((m) => ranks.has(m.rank))
        .map((m) =>
          create(RankResultSchema, { rank: m.rank, action, state: m.state, addr: m.addr })
        ),
      ...bad.records.map((r) => removedResult(r)),
    ].sort((a, b) => a.rank - b.rank);
  }

  /** SystemErase (leader): reset-format every member, then wipe the MS database. */
  async systemErase(): Promise<RankResult[]> {
    await this.requireLeader();
    const s = await this.#state();
    const members = [...s.members.values()];
    // No map of this system may reach a host after its reset format made it forget the held
    // map: the next system's versions start again at 1 and engines ignore lower versions.
    await this.groups.halt();
    if (members.length > 0) {
      let res: RankResult[];
      try {
        res = (await this.#fan("ResetFormatRanks", members, false)).map((r) => ({
          ...r,
          action: "reset format",
        }));
      } catch (e) {
        this.#resumeGroupUpdates();
        throw e;
      }
      if (res.some((r) => r.errored)) {
        this.#resumeGroupUpdates();
        await this.#applyResults(res);
        return res;
      }
    }
    const { db, election } = this.requireReplica();
    const run = async () => {
      const ok = await db.wipe(election.fence());
      if (!ok) throw new NotLeaderError(election.view().leader, this.otherReplicas());
      this.#cache = null;
    };
    const p = this.#writeChain.then(run, run);
    this.#writeChain = p.catch(() => {});
    await p;
    if (this.config.db.endpoints.length > 0) {
      // External etcd: the keys are gone; the DB keeps running. Re-establish the provider
      // attribute for the next format + join round.
      await this.#stepUpTasks();
      return [];
    }
    // As the reference (peers erase, then the leader re-execs): every replica drops its local
    // etcd member and data; they bootstrap afresh once engine 0's storage is formatted again.
    // Until then the system is uninitialized. Peers that cannot be told are only logged.
    await Promise.all(
      this.otherReplicas().map(async (addr) => {
        try {
          if (!this.fanout.eraseReplica) throw new Error("no peer erase configured");
          await this.fanout.eraseReplica(addr, this.config.system);
        } catch (e) {
          this.log(`erase of replica ${addr}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }),
    );
    await this.#dropLocalDb();
    return [];
  }

  /** Restarts the halted group updates while this replica still leads (erase refused). */
  #resumeGroupUpdates(): void {
    if (!this.election?.view().isLeader) return;
    this.groups.start();
    this.#requestGroupUpdate(true);
  }

  /**
   * SystemErase ordered by the leader (peer replicas only): drops the local database; with an
   * external etcd there is nothing local to drop.
   */
  async eraseAsPeer(): Promise<void> {
    const { election } = this.requireReplica();
    if (election.view().isLeader) {
      throw new Error("erase order from the leader received by the leader itself");
    }
    if (this.config.db.endpoints.length === 0) await this.#dropLocalDb();
  }

  /** Stops the local database (election, client, etcd member) and deletes its data. */
  async #dropLocalDb(): Promise<void> {
    this.#stopProbing();
    this.groups.stop();
    // No resign: the peers' members may be gone already (no quorum); the data goes anyway.
    await this.election?.abandon();
    this.etcd?.close();
    await this.member?.stop();
    this.election = null;
    this.etcd = null;
    this.db = null;
    this.member = null;
    this.#cache = null;
    if (this.config.dataDir !== "") {
      await Deno.remove(this.config.dataDir, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    this.log("MS database erased; it starts again once storage is formatted");
    this.#erased.resolve();
  }

  // ---- events and liveness ----------------------------------------------------------------

  /** Applies a RAS event forwarded by a server (leader only). */
  async clusterEvent(ev: {
    id: number;
    rank: number;
    incarnation: bigint;
    msg: string;
  }): Promise<void> {
    await this.requireLeader();
    const now = new Date().toISOString();
    if (ev.id === 2) { // engine_died
      await this.#write((s) => {
        const m = [...s.members.values()].find((x) => x.rank === ev.rank);
        if (!m || !isLegalTransition(m.state, "errored")) return noChanges();
        // A late event about an engine the rank has since replaced (it rejoined) is stale; so
        // is one naming no incarnation (0), as in DAOS: anyone could send that for any rank.
        if (ev.incarnation < BigInt(m.incarnation)) {
          this.log(
            `engine_died event for rank ${ev.rank} ignored: incarnation ${ev.incarnation} is ` +
              `older than the member's ${m.incarnation}`,
          );
          return noChanges();
        }
        return {
          ...noChanges(),
          put: [{ ...m, state: "errored", info: memberInfo(ev.msg), last_update: now }],
        };
      });
    } else if (ev.id === 17) { // swim_rank_dead
      await this.#write((s) => {
        const heal = s.attrs.get("prop.self_heal") ?? SELF_HEAL_DEFAULT;
        const m = [...s.members.values()].find((x) => x.rank === ev.rank);
        if (!m || !heal.split(/[;,]/).includes("exclude")) return noChanges();
        if (ev.incarnation < BigInt(m.incarnation)) return noChanges();
        if (!isLegalTransition(m.state, "excluded")) return noChanges();
        return {
          ...noChanges(),
          put: [{ ...m, state: "excluded", info: memberInfo(ev.msg), last_update: now }],
        };
      });
    }
  }

  #startProbing(): void {
    this.#stopProbing();
    this.#probeTimer = setInterval(() => {
      if (this.#probing) return;
      this.#probing = true;
      this.#probeHosts().catch((e) => this.log(`host probe: ${e}`)).finally(() => {
        this.#probing = false;
      });
    }, this.config.db.probeIntervalMs);
  }

  #stopProbing(): void {
    if (this.#probeTimer !== null) clearInterval(this.#probeTimer);
    this.#probeTimer = null;
  }

  /** One probe of `addr`: null when it did not answer (see Fanout.probeHost). */
  async #probe(addr: string, timeoutMs: number): Promise<HostProbe | null> {
    const f = this.fanout;
    if (f.probeHost) return await f.probeHost(addr, timeoutMs).catch(() => null);
    const ok = f.pingHost
      ? await f.pingHost(addr, timeoutMs).catch(() => false)
      : await tcpProbe(addr, timeoutMs);
    return ok ? { ranks: null } : null;
  }

  /**
   * Probes every host with a live or Unresponsive member: hosts silent for hostDeadAfterMs get
   * their live members marked Unresponsive; hosts that answer get their Unresponsive members
   * whose engine still runs (same incarnation, ready) restored to Joined.
   */
  async #probeHosts(): Promise<void> {
    if (!this.election?.view().isLeader || !this.db) return;
    const state = this.#cache ?? await this.#read(this.db);
    const watched: MemberState[] = ["joined", "ready", "starting", "stopping", "checkerstarted"];
    const members = [...state.members.values()];
    const live = new Set(members.filter((m) => watched.includes(m.state)).map((m) => m.addr));
    const lost = new Set(members.filter((m) => m.state === "unresponsive").map((m) => m.addr));
    // A host not watched last round starts a fresh grace period: an old "last seen" would
    // make its first missed probe fatal (e.g. right after its ranks rejoin).
    for (const addr of [...this.#lastSeen.keys()]) {
      if (!live.has(addr)) this.#lastSeen.delete(addr);
    }
    const timeout = Math.min(this.config.db.probeIntervalMs, 1000);
    const now = Date.now();
    const dead: string[] = [];
    const reports = new Map<string, LocalRank[]>();
    await Promise.all([...new Set([...live, ...lost])].map(async (addr) => {
      if (live.has(addr) && !this.#lastSeen.has(addr)) this.#lastSeen.set(addr, now);
      const answer = await this.#probe(addr, timeout);
      if (answer) {
        if (live.has(addr)) this.#lastSeen.set(addr, Date.now());
        if (answer.ranks && lost.has(addr)) reports.set(addr, answer.ranks);
      } else if (
        live.has(addr) && Date.now() - this.#lastSeen.get(addr)! > this.config.db.hostDeadAfterMs
      ) {
        dead.push(addr);
      }
    }));
    if (dead.length === 0 && reports.size === 0) return;
    const ts = new Date().toISOString();
    let restored: Member[] = [];
    let lostRanks: Member[] = [];
    await this.#write((s) => {
      const cur = [...s.members.values()];
      const put: Member[] = cur
        .filter((m) => dead.includes(m.addr) && watched.includes(m.state))
        .filter((m) => isLegalTransition(m.state, "unresponsive"))
        .map((m) => ({
          ...m,
          state: "unresponsive" as const,
          info: `daos_server at ${addrHost(m.addr)} unreachable`,
          last_update: ts,
        }));
      restored = [...reports].flatMap(([addr, ranks]) => restoredMembers(cur, addr, ranks, ts));
      lostRanks = put;
      return { ...noChanges(), put: [...put, ...restored] };
    });
    if (lostRanks.length > 0) {
      this.log(
        `ranks ${lostRanks.map((m) => m.rank).join(",")} unresponsive: no answer from ${
          dead.join(", ")
        } for over ${this.config.db.hostDeadAfterMs} ms`,
      );
    }
    for (const m of restored) {
      this.log(`rank ${m.rank} on ${m.addr} restored to joined: its engine still runs`);
    }
  }
}

/** Creates the MS of a server; call `startDb()` on replicas once storage is ready. */
export function startManagementService(opts: MsOptions): ManagementService {
  return new ManagementService(opts);
}
