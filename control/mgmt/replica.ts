/**
 * One MS replica's database side: the local etcd member (unless external endpoints are
 * configured), the etcd client, the membership database and the election, started together
 * and torn down by one {@link Replica.close} (orderly stop, crash, erase).
 */
import { type MgmtSvcDbConfig } from "./db_config.ts";
import { MembershipDb } from "./db.ts";
import { Election } from "./election.ts";
import { EtcdClient } from "./etcd_client.ts";
import { describeEtcdExit, etcdEndpoints, EtcdMember } from "./etcd_member.ts";
import { tcpProbe } from "./fanout.ts";
import { EtcdStore } from "./store_etcd.ts";
import { EtcdLogStore } from "./store_log.ts";

/** How a replica's database side ends. */
export type CloseMode =
  /** Orderly: resign (a successor is elected at once), stop the etcd member. */
  | "resign"
  /** Without resigning (the peers may have no quorum any more: system erase). */
  | "abandon"
  /** As a crash: no resign, the etcd member SIGKILLed; peers take over after the lease TTL. */
  | "kill";

/** What a replica is started with. */
export interface ReplicaOptions {
  system: string;
  /** mgmt_svc_replicas, "IP:port". */
  replicas: string[];
  db: MgmtSvcDbConfig;
  /** Local etcd data directory; unused with db.endpoints. */
  dataDir: string;
  /** This server's control address. */
  self: string;
  log(msg: string): void;
  /** Called on every leadership change of this replica (true = gained). */
  onLeadership(leader: boolean): void;
  /** Observer of this replica's etcd txns (control-plane metrics). */
  onEtcdTxn?: (seconds: number, ok: boolean) => void;
}

/** The database side of one MS replica. */
export class Replica {
  member: EtcdMember | null = null;
  etcd: EtcdClient | null = null;
  db: MembershipDb | null = null;
  election: Election | null = null;
  store: EtcdStore | null = null;
  /** The RAS event and audit logs (beside the membership database). */
  logs: EtcdLogStore | null = null;
  #closed = false;

  constructor(private readonly opts: ReplicaOptions) {}

  /** Starts the local etcd member (unless external), the client and the election. */
  async start(): Promise<void> {
    const { db, self, log } = this.opts;
    if (db.endpoints.length === 0) {
      const member = new EtcdMember({
        self,
        replicas: this.opts.replicas,
        system: this.opts.system,
        dataDir: this.opts.dataDir,
        db,
      });
      this.member = member;
      member.onExit = (e) => log(describeEtcdExit(e));
      await member.start();
      if (member.reaped !== undefined) {
        log(`stopped a stale etcd member (pid ${member.reaped}) left by an earlier daos_server`);
      }
      // The etcd client's circuit breaker backs off for seconds after a refused connection, so
      // wait (bounded) until the local member listens before using it.
      const url = new URL(etcdEndpoints(db, self)[0]);
      const end = Date.now() + 10000;
      while (
        !this.#closed && Date.now() < end &&
        !(await tcpProbe(`${url.hostname}:${url.port}`, 200))
      ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      // Closed while the member started (daos_server stopping): start nothing more.
      if (this.#closed) return;
    }
    const endpoints = etcdEndpoints(db, self);
    this.etcd = new EtcdClient(endpoints, db.callTimeoutMs);
    this.etcd.onTxn = this.opts.onEtcdTxn ?? null;
    this.db = new MembershipDb(this.etcd, this.opts.system);
    this.election = new Election(this.etcd, this.db.prefix, self, db.leaseTtlS);
    this.store = new EtcdStore(this.etcd, this.db, this.election, endpoints, self);
    this.logs = new EtcdLogStore(this.etcd, this.election, this.opts.system);
    this.election.onChange = (leader) => this.opts.onLeadership(leader);
    this.election.start();
  }

  /** Stops campaigning, the client and the local etcd member, as `mode` says. */
  async close(mode: CloseMode): Promise<void> {
    this.#closed = true;
    if (mode === "resign") await this.election?.stop();
    else await this.election?.abandon();
    this.etcd?.close();
    const pid = this.member?.pid;
    if (mode === "kill" && pid) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already gone */ }
    }
    await this.member?.stop();
    this.member = null;
    this.etcd = null;
    this.db = null;
    this.election = null;
    this.store = null;
    this.logs = null;
  }
}
