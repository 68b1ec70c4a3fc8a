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
import type { RankResult } from "../../proto/gen/ts/shared/ranks_pb.ts";
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
import { type CloseMode, Replica } from "./replica.ts";
import type { MembershipStore } from "./store.ts";
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

  constructor(opts: MsOptions) {
    this.config = opts.config;
    this.self = opts.selfAddr;
    this.isReplica = opts.isReplica;
    this.fanout = opts.fanout;
    this.log = opts.log ?? (() => {});
    this.#writes = new WritePipeline({
      store: () => this.#store(),
      retryMs: this.config.db.writeRetryMs,
      otherReplicas: () => this.otherReplicas(),
      // Member changes reach the engines with the next lazy update.
      onMembersChanged: () => this.#requestGroupUpdate(),
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
    this.#liveness.start();
    // A new leader tells the engines the map as it knows it (with a version increment).
    this.groups.start();
    const s = await this.#writes.state();
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
    const r = this.#replica;
    if (!r?.etcd || !r.db || !r.election) throw new MsUnavailableError("uninitialized");
    return { etcd: r.etcd, db: r.db, election: r.election };
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
    return await this.#joins.submit(input, peerHost);
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

  /** Applies a RAS event forwarded by a server (leader only). */
  async clusterEvent(ev: ClusterEvent): Promise<void> {
    await this.requireLeader();
    await clusterEvent(this.#ops, ev);
  }

  // ---- system attributes and properties (ops/attrs.ts, ops/props.ts) ----------------------

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
}

/** Creates the MS of a server; call `startDb()` on replicas once storage is ready. */
export function startManagementService(opts: MsOptions): ManagementService {
  return new ManagementService(opts);
}
