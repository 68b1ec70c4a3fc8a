/**
 * The management service (MS) of one daos_server: a thin facade over its parts, keeping the
 * public methods daos_server, the MgmtSvc handlers and the tests use.
 *
 * - replica.ts: the etcd member, client and election of a replica (one teardown);
 * - store.ts / store_etcd.ts: the membership database behind a store interface;
 * - writes.ts: the leader's serialized fenced writes and cached state;
 * - ops/join.ts (batched joins), ops/system.ts (query, stop, start, exclude), ops/erase.ts,
 *   ops/events.ts (RAS events → member states);
 * - liveness.ts: host probing (vanished daos_servers → Unresponsive, and back);
 * - group_update.ts: the group map pushed to the engines.
 *
 * This file holds what ties them together: leadership changes (step-up, step-down), the
 * replica/leader pre-checks, and the lifecycle (start, stop, crash, erase).
 */
import type { AuditRecord, RASLogEntry } from "../../proto/gen/ts/mgmt/events_pb.ts";
import { create } from "@bufbuild/protobuf";
import { RASLogEntrySchema } from "../../proto/gen/ts/mgmt/events_pb.ts";
import { type RASEvent, RASEventSchema } from "../../proto/gen/ts/shared/event_pb.ts";
import type { RankResult } from "../../proto/gen/ts/shared/ranks_pb.ts";
import { errorText } from "../lib/fault.ts";
import { NilRank, parseRankSet } from "../lib/rankset.ts";
import { MsUnavailableError, NotLeaderError, NotReplicaError } from "../lib/rpc/error_codec.ts";
import { checkRequestSystem } from "../lib/system_name.ts";
import { type DbChanges, type DbState, type MembershipDb, noChanges } from "./db.ts";
import type { MgmtSvcDbConfig } from "./db_config.ts";
import type { Election } from "./election.ts";
import type { EtcdClient } from "./etcd_client.ts";
import type { EtcdMember } from "./etcd_member.ts";
import type { Fanout } from "./fanout.ts";
import { GroupUpdater } from "./group_update.ts";
import { type JoinInput, validateJoinInput } from "./join.ts";
import { Liveness } from "./liveness.ts";
import { checkSetAttrs, getAttrs, setAttrs } from "./ops/attrs.ts";
import type { OpsContext } from "./ops/context.ts";
import { getProps, setProps } from "./ops/props.ts";
import { DAOS_VERSION } from "../lib/rpc/version.ts";
import { systemErase } from "./ops/erase.ts";
import { type ClusterEvent, clusterEvent } from "./ops/events.ts";
import { JoinQueue, type JoinResult } from "./ops/join.ts";
import { auditFromEvent, decodeAudit, describeAudit, encodeAudit } from "./ops/audit.ts";
import {
  AppendLog,
  decodeEvent,
  DEFAULT_LOG_SIZE,
  describeEvent,
  encodeEvent,
  joinFailedEvent,
  leaderChangedEvent,
  RasSeverity,
  RasType,
  stateChangeEvents,
} from "./ops/ras_log.ts";

/** RAS event id pool_destroy_deferred (spec/server.md §5.5). */
const POOL_DESTROY_DEFERRED = 12;
import {
  leaderQuery,
  type OpResults,
  providerChanges,
  query,
  type QueryResult,
  systemExclude,
  systemStart,
  systemStop,
} from "./ops/system.ts";
import { NoPoolEngine, type PoolEngine } from "./pool/engine.ts";
import type { PoolRecord } from "./pool/record.ts";
import {
  type CreateInput,
  type CreateResult,
  type MapOp,
  type PoolQueryInfo,
  type PoolRanksOutcome,
  PoolService,
} from "./pool/service.ts";
import { type CloseMode, Replica } from "./replica.ts";
import type { MembershipStore } from "./store.ts";
import type { LogStore } from "./store_log.ts";
import { WritePipeline } from "./writes.ts";

export type { Fanout, HostProbe, LocalRank, RanksMethod } from "./fanout.ts";
export { tcpProbe } from "./fanout.ts";
export { restoredMembers } from "./liveness.ts";
export { msDbUnavailable } from "./store.ts";

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
  /** Observers of the MS's etcd txns and group updates (control-plane metrics). */
  metrics?: MsMetricsHooks;
  /** The local engine's pool dRPC (absent: pool calls fail with DataPlaneNotStarted). */
  poolEngine?: PoolEngine;
  /** Targets per engine (the engines' configured count), for the pool SCM minimum. */
  targetsPerRank?: number;
}

/** What the MS reports to the control-plane metrics. */
export interface MsMetricsHooks {
  /** Duration of one etcd txn of this replica and whether it ran (compare failures did). */
  etcdTxn(seconds: number, ok: boolean): void;
  /** Seconds from a map version's commit until every host of the map held it. */
  groupUpdateLag(seconds: number): void;
}

/** One server's management service. */
export class ManagementService {
  readonly config: MsConfig;
  readonly self: string;
  readonly isReplica: boolean;
  readonly fanout: Fanout;
  readonly log: (msg: string) => void;
  /** The leader's group updates (started on gaining leadership). */
  readonly groups: GroupUpdater;
  #replica: Replica | null = null;
  #stepUp: Promise<void> | null = null;
  #erased: PromiseWithResolvers<void> = Promise.withResolvers();
  readonly #writes: WritePipeline;
  readonly #joins: JoinQueue;
  readonly #liveness: Liveness;
  readonly #ops: OpsContext;
  readonly #events: AppendLog;
  readonly #audit: AppendLog;
  readonly #metrics: MsMetricsHooks | null;
  /** The leader's pool operations (pool/service.ts). */
  readonly pools: PoolService;

  constructor(opts: MsOptions) {
    this.config = opts.config;
    this.self = opts.selfAddr;
    this.isReplica = opts.isReplica;
    this.fanout = opts.fanout;
    this.log = opts.log ?? (() => {});
    this.#metrics = opts.metrics ?? null;
    this.#writes = new WritePipeline({
      store: () => this.#store(),
      retryMs: this.config.db.writeRetryMs,
      otherReplicas: () => this.otherReplicas(),
      // Member changes reach the engines with the next lazy update.
      onMembersChanged: () => this.#requestGroupUpdate(),
      // Every rank state change the MS makes becomes a RAS event (stop, start, exclude,
      // unresponsive, errored, joined...), whichever operation wrote it.
      onCommitted: (base, next) => {
        for (const ev of stateChangeEvents(base, next, new Date().toISOString())) {
          void this.raise(ev);
        }
        this.#poolHooks(base, next);
      },
      log: this.log,
    });
    const logStore = () => this.#logStore();
    this.#events = new AppendLog("events", {
      store: logStore,
      keep: () => this.config.db.rasLogSize ?? DEFAULT_LOG_SIZE,
      log: this.log,
    });
    this.#audit = new AppendLog("audit", {
      store: logStore,
      keep: () => this.config.db.auditLogSize ?? DEFAULT_LOG_SIZE,
      log: this.log,
    });
    const write = (fn: (s: DbState) => DbChanges) => this.#writes.write(fn);
    const now = () => new Date().toISOString();
    this.#ops = {
      controlPort: this.config.controlPort,
      state: () => this.#writes.state(),
      write,
      fanout: this.fanout,
      log: this.log,
      now,
    };
    this.pools = new PoolService({
      ctx: this.#ops,
      engine: opts.poolEngine ?? new NoPoolEngine(),
      targetsPerRank: opts.targetsPerRank ?? 1,
      raise: (e) => {
        void this.raise(create(RASEventSchema, {
          id: POOL_DESTROY_DEFERRED,
          msg: e.msg,
          timestamp: new Date().toISOString(),
          type: RasType.INFO,
          severity: RasSeverity.WARNING,
          hostname: this.self.slice(0, Math.max(0, this.self.lastIndexOf(":"))),
          rank: NilRank,
          poolUuid: e.poolUuid,
        }));
      },
    });
    this.#joins = new JoinQueue({ write, onJoined: () => this.#requestGroupUpdate(true), now });
    this.#liveness = new Liveness({
      fanout: this.fanout,
      intervalMs: this.config.db.probeIntervalMs,
      deadAfterMs: this.config.db.hostDeadAfterMs,
      isLeading: () => this.#replica?.store?.view().isLeader === true,
      snapshot: () => this.#writes.snapshot(),
      write,
      log: this.log,
    });
    this.groups = new GroupUpdater({
      system: this.config.system,
      state: () => this.#writes.state(),
      bumpMapVersion: () => this.#writes.write(() => ({ ...noChanges(), extraMapIncrements: 1 })),
      send: (addr, req) => {
        if (!this.fanout.groupUpdate) throw new Error("no group update delivery configured");
        return this.fanout.groupUpdate(addr, req);
      },
      log: this.log,
      onDelivered: (_v, lag) => this.#metrics?.groupUpdateLag(lag),
    });
  }

  /** The local etcd member (null when stopped or with external endpoints). */
  get member(): EtcdMember | null {
    return this.#replica?.member ?? null;
  }

  /** The etcd client (null unless the database side runs). */
  get etcd(): EtcdClient | null {
    return this.#replica?.etcd ?? null;
  }

  /** The membership database (null unless the database side runs). */
  get db(): MembershipDb | null {
    return this.#replica?.db ?? null;
  }

  /** This replica's election (null unless the database side runs). */
  get election(): Election | null {
    return this.#replica?.election ?? null;
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

  // ---- lifecycle --------------------------------------------------------------------------

  /**
   * Starts the database side (call when this replica's storage is ready): the local etcd member
   * (unless external endpoints are configured), the client and the election. No-op on
   * non-replicas.
   */
  async startDb(): Promise<void> {
    if (!this.isReplica || this.#replica) return;
    this.#erased = Promise.withResolvers();
    // Set before it starts, so that a stop() meanwhile also stops the member being started.
    this.#replica = new Replica({
      system: this.config.system,
      replicas: this.config.replicas,
      db: this.config.db,
      dataDir: this.config.dataDir,
      self: this.self,
      log: this.log,
      onLeadership: (leader) => this.#onLeadership(leader),
      onEtcdTxn: this.#metrics ? (t, ok) => this.#metrics?.etcdTxn(t, ok) : undefined,
    });
    await this.#replica.start();
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
    await this.#shutdown("resign");
    this.#joins.rejectAll(new NotLeaderError("", this.otherReplicas()));
  }

  /**
   * Stops at once without resigning and SIGKILLs the local etcd member, as if this server
   * crashed (fatal errors; failover tests and benches). Peers take over after the lease TTL.
   */
  async crash(): Promise<void> {
    await this.#shutdown("kill");
    this.#joins.rejectAll(new NotLeaderError("", this.otherReplicas()));
  }

  /** The one teardown of the leader's tasks and the database side (stop, crash, erase). */
  async #shutdown(mode: CloseMode): Promise<void> {
    this.#liveness.stop();
    this.groups.stop();
    const replica = this.#replica;
    await replica?.close(mode);
    if (this.#replica === replica) this.#replica = null;
    this.#writes.invalidate();
  }

  /** Stops the local database (election, client, etcd member) and deletes its data. */
  async #dropLocalDb(): Promise<void> {
    await this.#shutdown("abandon");
    if (this.config.dataDir !== "") {
      await Deno.remove(this.config.dataDir, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    this.log("MS database erased; it starts again once storage is formatted");
    this.#erased.resolve();
  }

  // ---- leadership -------------------------------------------------------------------------

  #onLeadership(leader: boolean): void {
    this.#writes.invalidate();
    // The next sequence numbers are read again from the logs before this replica writes.
    this.#events.invalidate();
    this.#audit.invalidate();
    if (!leader) {
      this.#liveness.stop();
      this.groups.stop();
      this.#stepUp = null;
      this.log("lost MS leadership");
      return;
    }
    this.log("gained MS leadership");
    this.#stepUp = this.#stepUpTasks().catch(async (e) => {
      this.log(`leader step-up failed, resigning: ${e}`);
      this.#stepUp = null;
      await this.#replica?.store?.resign();
    });
  }

  async #stepUpTasks(): Promise<void> {
    await this.#writes.write((s) => providerChanges(s, this.config.provider, this.log));
    void this.raise(leaderChangedEvent(this.self, new Date().toISOString()));
    this.#liveness.start();
    // A new leader tells the engines the map as it knows it (with a version increment).
    this.groups.start();
    const s = await this.#writes.state();
    if (s.members.size > 0) this.#requestGroupUpdate(true);
    // Half-made pools of the previous leader: listed before any request of this leader runs,
    // destroyed in the background (engine calls must not hold the step-up).
    const stale = await this.pools.stalePools();
    if (stale.length > 0) {
      this.pools.cleanUp(stale).catch((e) => this.log(`pool clean-up: ${e}`));
    }
  }

  // ---- pre-checks -------------------------------------------------------------------------

  /** Fault 603 unless `sys` names this system. */
  checkSystem(sys: string): void {
    checkRequestSystem(sys, this.config.system);
  }

  /** Throws not-replica on non-replicas and "uninitialized" before the DB runs. */
  requireReplica(): { etcd: EtcdClient; db: MembershipDb; election: Election } {
    if (!this.isReplica) throw new NotReplicaError(this.config.replicas);
    const r = this.#replica;
    if (!r?.etcd || !r.db || !r.election) throw new MsUnavailableError("uninitialized");
    return { etcd: r.etcd, db: r.db, election: r.election };
  }

  /** The running replica's logs (pre-checked as {@link requireReplica}). */
  #logStore(): LogStore {
    this.requireReplica();
    return this.#replica!.logs!;
  }

  /** The running replica's store (pre-checked as {@link requireReplica}). */
  #store(): MembershipStore {
    this.requireReplica();
    return this.#replica!.store!;
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

  // ---- requests ---------------------------------------------------------------------------

  /** Processes a JoinReq (leader only); concurrent joins are batched into shared transactions. */
  async join(input: JoinInput, peerHost?: string): Promise<JoinResult> {
    // Refused before it is queued: nothing of a bad request reaches the database.
    validateJoinInput(input);
    await this.requireLeader();
    try {
      return await this.#joins.submit(input, peerHost);
    } catch (e) {
      // Refused by the MS's rules (a retry elsewhere is no failure of the join).
      if (!(e instanceof NotLeaderError) && !(e instanceof MsUnavailableError)) {
        void this.raise(joinFailedEvent(
          { rank: input.rank, addr: input.addr, incarnation: input.incarnation },
          e,
          new Date().toISOString(),
        ));
      }
      throw e;
    }
  }

  /** SystemQuery (any replica). */
  async query(ranks: string, hosts: string, stateMask: number): Promise<QueryResult> {
    this.requireReplica();
    return await query(this.#ops, { ranks, hosts, stateMask });
  }

  /** LeaderQuery: leader address, replicas, replicas not campaigning (down). */
  async leaderQuery(): Promise<{ leader: string; replicas: string[]; down: string[] }> {
    return await leaderQuery(this.#store(), this.config.replicas, this.self);
  }

  /** SystemStop (leader): prep shutdown unless forced, then stop. */
  async systemStop(
    req: { ranks: string; hosts: string; force: boolean; ignoreAdminExcluded: boolean },
  ): Promise<OpResults> {
    await this.requireLeader();
    return await systemStop(this.#ops, req);
  }

  /** SystemStart (leader). */
  async systemStart(
    req: { ranks: string; hosts: string; ignoreAdminExcluded: boolean },
  ): Promise<OpResults> {
    await this.requireLeader();
    return await systemStart(this.#ops, req);
  }

  /**
   * SystemExclude (leader): set or clear the AdminExcluded state; removes the invalid member
   * records it names (see ops/system.ts).
   */
  async systemExclude(
    req: { ranks: string; hosts: string; clear: boolean },
  ): Promise<RankResult[]> {
    await this.requireLeader();
    return await systemExclude(this.#ops, req);
  }

  /** SystemErase (leader): reset-format every member, then wipe the MS database. */
  async systemErase(): Promise<RankResult[]> {
    await this.requireLeader();
    return await systemErase({
      ...this.#ops,
      system: this.config.system,
      haltGroupUpdates: () => this.groups.halt(),
      resumeGroupUpdates: () => this.#resumeGroupUpdates(),
      wipe: () => this.#writes.wipe(),
      externalDb: this.config.db.endpoints.length > 0,
      stepUp: () => this.#stepUpTasks(),
      otherReplicas: this.otherReplicas(),
      dropLocalDb: () => this.#dropLocalDb(),
    });
  }

  /** Restarts the halted group updates while this replica still leads (erase refused). */
  #resumeGroupUpdates(): void {
    if (!this.#replica?.store?.view().isLeader) return;
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

  /**
   * Applies a RAS event forwarded by a server (leader only): stored in the event log (an
   * audit record a server forwarded goes to the audit log instead) and turned into member
   * state changes. `raw` is the event as sent (default: one made of `ev`'s fields).
   */
  async clusterEvent(ev: ClusterEvent, raw?: RASEvent): Promise<void> {
    await this.requireLeader();
    const full = raw ?? create(RASEventSchema, {
      id: ev.id,
      rank: ev.rank,
      incarnation: ev.incarnation,
      msg: ev.msg,
      timestamp: new Date().toISOString(),
      type: RasType.STATE_CHANGE,
      severity: RasSeverity.ERROR,
    });
    const audit = auditFromEvent(full);
    if (audit !== null) {
      await this.recordAudit(audit);
      return;
    }
    // Queued before the state change it causes, so the log reads cause, then effect.
    const stored = this.raise(full);
    await clusterEvent(this.#ops, ev);
    await stored;
  }

  // ---- system attributes and properties (ops/attrs.ts, ops/props.ts) ----------------------

  /**
   * Pool maps follow rank states: a rank leaving Joined takes its targets DOWN in every pool,
   * a rank joining again gets its pools' maps re-pushed and finishes deferred destroys. Run
   * after the commit (their own writes go through the same pipeline), failures logged.
   */
  #poolHooks(base: DbState, next: DbState): void {
    const was = new Map([...base.members.values()].map((m) => [m.rank, m.state]));
    for (const m of next.members.values()) {
      const before = was.get(m.rank);
      if (before === "joined" && m.state !== "joined") {
        this.pools.rankLeft(m.rank).catch((e) => this.log(`pool maps, rank ${m.rank} left: ${e}`));
      } else if (before !== undefined && before !== "joined" && m.state === "joined") {
        // The engines must know the rank (its map delivered) before a collective can reach it.
        const version = next.mapVersion;
        this.pools.rankJoined(m.rank, () => this.#mapDelivered(version)).catch((e) =>
          this.log(`pool maps, rank ${m.rank} joined: ${e}`)
        );
      }
    }
  }

  /** Waits (bounded: 60 s) until the group map of `version` or later reached every host. */
  #mapDelivered(version: number): Promise<boolean> {
    if (!this.fanout.groupUpdate) return Promise.resolve(true); // MS-only tests: no engines
    return this.groups.delivered(version, 60_000);
  }

  // ---- pools (pool/service.ts) ------------------------------------------------------------

  /** PoolCreate (leader). */
  async poolCreate(req: CreateInput): Promise<CreateResult> {
    await this.requireLeader();
    return await this.pools.create(req);
  }

  /** PoolDestroy (leader). */
  async poolDestroy(id: string): Promise<void> {
    await this.requireLeader();
    await this.pools.destroy(id);
  }

  /** PoolExclude / PoolDrain / PoolReintegrate (leader). */
  async poolChangeTargets(
    id: string,
    ranks: number[],
    targetIdx: number[],
    op: MapOp,
  ): Promise<void> {
    await this.requireLeader();
    await this.pools.changeTargets(id, ranks, targetIdx, op);
  }

  /** PoolQuery (any replica: the map from the database, space from the local engine). */
  async poolQuery(id: string, queryMask: bigint): Promise<PoolQueryInfo> {
    this.requireReplica();
    return await this.pools.query(id, queryMask);
  }

  /** PoolExtend (leader): per-rank tier bytes of the pool. */
  async poolExtend(id: string, ranks: number[]): Promise<number[]> {
    await this.requireLeader();
    return await this.pools.extend(id, ranks);
  }

  /** PoolGetProp (any replica). */
  async poolGetProps(id: string, numbers: number[]): Promise<Record<number, string>> {
    this.requireReplica();
    return await this.pools.getProps(id, numbers);
  }

  /** PoolSetProp (leader). */
  async poolSetProps(id: string, props: Record<number, string>): Promise<void> {
    await this.requireLeader();
    await this.pools.setProps(id, props);
  }

  /** PoolQueryTarget (any replica). */
  async poolQueryTargets(
    id: string,
    rank: number,
    targets: number[],
  ): ReturnType<PoolService["queryTargets"]> {
    this.requireReplica();
    return await this.pools.queryTargets(id, rank, targets);
  }

  /** SystemDrain (leader): per pool results. */
  async systemDrain(ranks: string, hosts: string, reint: boolean): Promise<PoolRanksOutcome[]> {
    await this.requireLeader();
    return await this.pools.systemDrain(ranks, hosts, reint);
  }

  /** ListPools (any replica). */
  async listPools(): Promise<PoolRecord[]> {
    this.requireReplica();
    return await this.pools.list();
  }

  /** SystemSetAttr (leader): set attributes, "" deletes; reserved keys refused. */
  async setAttrs(attrs: Record<string, string>): Promise<void> {
    checkSetAttrs(attrs);
    await this.requireLeader();
    await setAttrs(this.#ops, attrs);
  }

  /** SystemGetAttr (any replica): the named attributes, or all user-visible ones. */
  async getAttrs(keys: string[]): Promise<Record<string, string>> {
    this.requireReplica();
    return await getAttrs(this.#ops, keys);
  }

  /** SystemSetProp (leader): checked, normalised, stored as `prop.<name>`. */
  async setProps(props: Record<string, string>): Promise<void> {
    await this.requireLeader();
    await setProps(this.#ops, props);
  }

  /** SystemGetProp (any replica): the named properties, or all, defaults filled in. */
  async getProps(keys: string[]): Promise<Record<string, string>> {
    this.requireReplica();
    return await getProps(this.#ops, keys, { system: this.config.system, version: DAOS_VERSION });
  }
  /**
   * Records RAS event `ev`: one line in the control log, and on the leader the event log
   * (resolves with its sequence number; 0 when it was not stored: not the leader, or the
   * database failed, which is logged).
   */
  async raise(ev: RASEvent): Promise<bigint> {
    this.log(describeEvent(ev));
    if (this.#replica?.store?.view().isLeader !== true) return 0n;
    try {
      return await this.#events.append(encodeEvent(ev));
    } catch (e) {
      this.log(`RAS event not stored in the MS event log: ${errorText(e)}`);
      return 0n;
    }
  }

  /** Appends audit record `r` (leader only); resolves with its sequence number. */
  async recordAudit(r: AuditRecord): Promise<bigint> {
    await this.requireLeader();
    this.log(`stored ${describeAudit(r)}`);
    return await this.#audit.append(encodeAudit(r));
  }

  /**
   * SystemGetEvents (any replica): events after sequence number `after`, stamped at or after
   * `since`, of the ranks in `ranks`; at most `limit` (0: all kept). The cursor is the last
   * sequence number scanned (pass it as `after` to go on).
   */
  async getEvents(
    req: { after: bigint; since: string; ranks: string; limit: number },
  ): Promise<{ events: RASLogEntry[]; cursor: bigint }> {
    this.requireReplica();
    const match = eventFilter(req.since, req.ranks);
    const events: RASLogEntry[] = [];
    let cursor = req.after;
    for (const e of await this.#events.read(req.after, 0)) {
      cursor = e.seq;
      const event = decodeEvent(e);
      if (match(event)) events.push(create(RASLogEntrySchema, { seq: e.seq, event }));
      if (req.limit > 0 && events.length >= req.limit) break;
    }
    return { events, cursor };
  }

  /**
   * SystemFollowEvents (any replica): the events after `after` (or the newest `tail` when
   * `after` is 0 and `tail` is set), then each new one as it is stored, until `signal` aborts
   * or this replica's database stops (the client resumes elsewhere from its last sequence).
   */
  async *followEvents(
    req: { after: bigint; ranks: string; tail: number },
    signal: AbortSignal,
  ): AsyncGenerator<RASLogEntry> {
    this.requireReplica();
    const match = eventFilter("", req.ranks);
    let cursor = req.after;
    if (cursor === 0n && req.tail > 0) {
      const newest = await this.#events.tail(req.tail);
      if (newest.length > 0) cursor = newest[0].seq - 1n;
    }
    while (!signal.aborted) {
      this.requireReplica();
      const batch = await this.#events.read(cursor, 500);
      for (const e of batch) {
        cursor = e.seq;
        const event = decodeEvent(e);
        if (match(event)) yield create(RASLogEntrySchema, { seq: e.seq, event });
      }
      // The leader wakes its followers at each append; other replicas poll their etcd.
      if (batch.length === 0) await this.#events.changed(200, signal);
    }
  }

  /** SystemGetAudit (any replica): records after `after`, at most `limit` (0: all kept). */
  async getAudit(
    req: { after: bigint; limit: number },
  ): Promise<{ records: AuditRecord[]; cursor: bigint }> {
    this.requireReplica();
    const records = (await this.#audit.read(req.after, req.limit)).map(decodeAudit);
    return { records, cursor: records.length > 0 ? records[records.length - 1].seq : req.after };
  }
}

/** The filter of SystemGetEvents: stamped at or after `since` (RFC 3339), rank in `ranks`. */
export function eventFilter(since: string, ranks: string): (ev: RASEvent) => boolean {
  const from = since === "" ? null : Date.parse(since);
  if (from !== null && Number.isNaN(from)) {
    throw new Error(
      `invalid since time "${since}": use an RFC 3339 time like 2026-01-02T03:04:05Z`,
    );
  }
  const set = ranks === "" ? null : parseRankSet(ranks);
  return (ev) =>
    (from === null || Date.parse(ev.timestamp) >= from) &&
    (set === null || set.contains(ev.rank));
}

/** Creates the MS of a server; call `startDb()` on replicas once storage is ready. */
export function startManagementService(opts: MsOptions): ManagementService {
  return new ManagementService(opts);
}
