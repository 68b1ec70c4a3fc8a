/**
 * Supervision of a replica's local etcd member: build its command line from the replica list,
 * start it, restart it when it dies, stop it with the server.
 */
import { etcdPortsFor, type MgmtSvcDbConfig } from "./db_config.ts";

/** What one replica needs to run its etcd member. */
export interface EtcdMemberSpec {
  /** This replica's control address ("IP:port"). */
  self: string;
  /** All MS replica control addresses (including self). */
  replicas: string[];
  /** System name; used as the etcd cluster token. */
  system: string;
  dataDir: string;
  db: MgmtSvcDbConfig;
}

function host(addr: string): string {
  const i = addr.lastIndexOf(":");
  return i < 0 ? addr : addr.slice(0, i);
}

/** etcd member name of a replica: its address with ':' replaced, unique per replica. */
export function etcdMemberName(addr: string): string {
  return `ms-${addr.replace(/[^A-Za-z0-9.-]/g, "-")}`;
}

/** Client URL of the etcd member of replica `addr`. */
export function etcdClientUrl(db: MgmtSvcDbConfig, addr: string): string {
  return `http://${host(addr)}:${etcdPortsFor(db, addr).client}`;
}

/**
 * Client URLs the MS should use: the external endpoints, or only this replica's own member.
 * A replica whose member is down cannot act anyway (its supervisor restarts it), and talking to
 * dead peers' members costs a deadline per call, which slowed failover to seconds.
 */
export function etcdEndpoints(db: MgmtSvcDbConfig, self: string): string[] {
  if (db.endpoints.length > 0) return [...db.endpoints];
  return [etcdClientUrl(db, self)];
}

/** etcd 3.4 command-line arguments for this replica's member. */
export function etcdArgs(spec: EtcdMemberSpec): string[] {
  const ports = etcdPortsFor(spec.db, spec.self);
  const h = host(spec.self);
  const cluster = spec.replicas
    .map((r) => `${etcdMemberName(r)}=http://${host(r)}:${etcdPortsFor(spec.db, r).peer}`)
    .join(",");
  return [
    "--name",
    etcdMemberName(spec.self),
    "--data-dir",
    spec.dataDir,
    "--listen-peer-urls",
    `http://${h}:${ports.peer}`,
    "--initial-advertise-peer-urls",
    `http://${h}:${ports.peer}`,
    "--listen-client-urls",
    `http://${h}:${ports.client}`,
    "--advertise-client-urls",
    `http://${h}:${ports.client}`,
    "--initial-cluster",
    cluster,
    "--initial-cluster-state",
    "new",
    "--initial-cluster-token",
    `daos-${spec.system}`,
    // A member back from a partition must not force an election with its inflated term (it
    // would often cost the MS leader its lease): pre-vote first (etcd 3.5's default).
    "--pre-vote",
    "--election-timeout",
    String(spec.db.electionTimeoutMs),
    "--heartbeat-interval",
    String(spec.db.heartbeatIntervalMs),
    // One system stop/start commits every member in one txn: 128 (etcd's default) is too few.
    "--max-txn-ops",
    "16384",
    "--log-level",
    "error",
  ];
}

/** A supervised etcd child process; restarted (with a short back-off) whenever it exits. */
export class EtcdMember {
  #proc: Deno.ChildProcess | null = null;
  #stopping = false;
  #loop: Promise<void> | null = null;
  #exited = false;
  /** Number of times the member was (re)started. */
  starts = 0;
  /** Called with each exit status (for logs). */
  onExit: (status: Deno.CommandStatus) => void = () => {};

  constructor(readonly spec: EtcdMemberSpec, readonly restartDelayMs = 200) {}

  /** pid of the running member, if any. */
  get pid(): number | undefined {
    return this.#exited ? undefined : this.#proc?.pid;
  }

  /** Starts the member and its supervision loop (idempotent). */
  async start(): Promise<void> {
    if (this.#loop) return;
    await Deno.mkdir(this.spec.dataDir, { recursive: true, mode: 0o700 });
    this.#stopping = false;
    this.#spawn();
    this.#loop = this.#supervise();
  }

  #spawn(): void {
    const cmd = new Deno.Command(this.spec.db.etcdBinary, {
      args: etcdArgs(this.spec),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    });
    this.#proc = cmd.spawn();
    this.#exited = false;
    this.starts++;
  }

  async #supervise(): Promise<void> {
    while (this.#proc) {
      const status = await this.#proc.status;
      this.#exited = true;
      this.onExit(status);
      if (this.#stopping) break;
      await new Promise((r) => setTimeout(r, this.restartDelayMs));
      if (this.#stopping) break;
      this.#spawn();
    }
    this.#proc = null;
  }

  /** Stops the member (SIGTERM, SIGKILL after `graceMs`) and waits for it to exit. */
  async stop(graceMs = 2000): Promise<void> {
    this.#stopping = true;
    const proc = this.#proc;
    if (proc) {
      try {
        proc.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          proc.kill("SIGKILL");
        } catch { /* already gone */ }
      }, graceMs);
      await proc.status;
      clearTimeout(timer);
    }
    await this.#loop;
    this.#loop = null;
  }
}
