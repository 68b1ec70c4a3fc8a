/**
 * Supervision of a replica's local etcd member: build its command line from the replica list,
 * start it, restart it when it dies, stop it with the server.
 */
import { pipeLines } from "../harness/line_logger.ts";
import { makeFault } from "../lib/fault.ts";
import { etcdPortsFor, type MgmtSvcDbConfig } from "./db_config.ts";
import { Sleeper } from "./sleeper.ts";

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

/**
 * The launcher that execs etcd with PR_SET_PDEATHSIG (engine-ffi/native/tools), so the member
 * dies with this daos_server even when it is SIGKILLed.
 */
export const PDEATHSIG_LAUNCHER = new URL(
  "../../engine-ffi/native/build/daos_pdeathsig",
  import.meta.url,
).pathname;

/** Name of the pid file the supervisor keeps in the member's data dir. */
export const MEMBER_PID_FILE = "daos_etcd.pid";

/** Lines of the member's own output kept for the exit log. */
const LAST_LINES = 5;
/** Longest kept line (etcd's JSON log lines are long; the message is near the front). */
const MAX_KEPT_LINE = 400;
/** A member that ran this long before exiting restarts after the first delay again. */
const STABLE_RUN_MS = 10_000;

/** What the supervisor knows about one exit of the member. */
export interface EtcdExit {
  pid: number;
  status: Deno.CommandStatus;
  /** The member's last stderr lines (its own account of the failure), oldest first. */
  lastOutput: string[];
  /** Delay before the next start; null when the member is being stopped. */
  restartInMs: number | null;
}

/** Back-off settings of the restart loop. */
export interface RestartBackoff {
  /** First delay (and the delay after a run of STABLE_RUN_MS or more). */
  initialMs: number;
  /** Upper bound of the doubling delay. */
  maxMs: number;
}

/** Arguments of a process (/proc/<pid>/cmdline), or null when it is gone or unreadable. */
async function cmdlineOf(pid: number): Promise<string[] | null> {
  try {
    const raw = await Deno.readTextFile(`/proc/${pid}/cmdline`);
    return raw === "" ? null : raw.replace(/\0$/, "").split("\0");
  } catch {
    return null;
  }
}

/** True when `argv` is an etcd run over exactly `dataDir` (identity of a member we own). */
export function isOwnMember(argv: string[], etcdBinary: string, dataDir: string): boolean {
  const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);
  const i = argv.indexOf("--data-dir");
  return argv.length > 0 && base(argv[0]) === base(etcdBinary) && i > 0 &&
    argv[i + 1] === dataDir;
}

function processGone(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT"); // harmless probe: throws when no such process
    return false;
  } catch {
    return true;
  }
}

/** pid named by the pid file in `dataDir`, if the file holds one. */
async function pidFromFile(dataDir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dataDir}/${MEMBER_PID_FILE}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 1 && pid !== Deno.pid ? pid : undefined;
}

/** Live etcd processes over `dataDir` (a scan of /proc, for a member whose pid file is gone). */
async function scanForMembers(dataDir: string, etcdBinary: string): Promise<number[]> {
  const out: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    const argv = await cmdlineOf(Number(e.name));
    if (argv && isOwnMember(argv, etcdBinary, dataDir)) out.push(Number(e.name));
  }
  return out;
}

/**
 * Stops a member left running by an earlier daos_server of this replica: the one named by the
 * pid file in its data dir, else any found in /proc. Each is confirmed by its command line (the
 * etcd binary over this very data dir), so a recycled pid is never signalled. Returns the pid
 * stopped, if any.
 */
export async function reapStaleMember(
  dataDir: string,
  etcdBinary: string,
  waitMs = 5000,
): Promise<number | undefined> {
  const named = await pidFromFile(dataDir);
  const argv = named === undefined ? null : await cmdlineOf(named);
  const pids = named !== undefined && argv !== null && isOwnMember(argv, etcdBinary, dataDir)
    ? [named]
    : await scanForMembers(dataDir, etcdBinary);
  const killed = pids.filter((pid) => {
    try {
      Deno.kill(pid, "SIGKILL"); // etcd's WAL is synced: a kill loses nothing acknowledged
      return true;
    } catch {
      return false; // exited meanwhile
    }
  });
  // Not our children: poll (bounded) until each is gone (or a zombie, with no cmdline).
  const end = Date.now() + waitMs;
  for (const pid of killed) {
    while (Date.now() < end && !processGone(pid) && (await cmdlineOf(pid)) !== null) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return killed[0];
}

/**
 * A supervised etcd child process. It runs through {@link PDEATHSIG_LAUNCHER} (it dies with this
 * process), its pid is kept in the data dir (a restarted server stops a member it left behind),
 * and it is restarted whenever it exits, with a doubling back-off.
 */
export class EtcdMember {
  #proc: Deno.ChildProcess | null = null;
  #stopping = false;
  #loop: Promise<void> | null = null;
  #exited = false;
  #output: Promise<void> = Promise.resolve();
  #lastLines: string[] = [];
  #sleeper = new Sleeper();
  /** Number of times the member was (re)started. */
  starts = 0;
  /** pid of a stale member stopped by the last start(), if any (for logs and tests). */
  reaped: number | undefined;
  /** Called with each exit (for logs). */
  onExit: (exit: EtcdExit) => void = () => {};
  readonly backoff: RestartBackoff;

  constructor(readonly spec: EtcdMemberSpec, backoff: Partial<RestartBackoff> = {}) {
    this.backoff = { initialMs: 200, maxMs: 10_000, ...backoff };
  }

  /** pid of the running member, if any. */
  get pid(): number | undefined {
    return this.#exited ? undefined : this.#proc?.pid;
  }

  /**
   * Starts the member and its supervision loop (idempotent), after stopping a stale member of
   * the same data dir. Throws fault 1 when the launcher is not built.
   */
  async start(): Promise<void> {
    if (this.#loop) return;
    try {
      await Deno.stat(PDEATHSIG_LAUNCHER);
    } catch {
      throw makeFault(
        "MissingSoftwareDependency",
        `etcd member launcher ${PDEATHSIG_LAUNCHER} not found`,
        "build it with 'make -C engine-ffi/native' (or 'deno task build')",
      );
    }
    await Deno.mkdir(this.spec.dataDir, { recursive: true, mode: 0o700 });
    this.reaped = await reapStaleMember(this.spec.dataDir, this.spec.db.etcdBinary);
    this.#stopping = false;
    await this.#spawn();
    this.#loop = this.#supervise();
  }

  async #spawn(): Promise<void> {
    const cmd = new Deno.Command(PDEATHSIG_LAUNCHER, {
      args: [String(Deno.pid), this.spec.db.etcdBinary, ...etcdArgs(this.spec)],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    });
    const proc = cmd.spawn();
    this.#proc = proc;
    this.#exited = false;
    this.#lastLines = [];
    this.starts++;
    this.#output = pipeLines(proc.stderr, "", (l) => {
      const line = l.trim().slice(0, MAX_KEPT_LINE);
      if (line === "") return;
      this.#lastLines.push(line);
      if (this.#lastLines.length > LAST_LINES) this.#lastLines.shift();
    });
    // The launcher execs etcd: its pid is the member's pid.
    await Deno.writeTextFile(`${this.spec.dataDir}/${MEMBER_PID_FILE}`, `${proc.pid}\n`)
      .catch(() => {}); // best effort: the launcher already ties the member to us
  }

  async #supervise(): Promise<void> {
    let delay = this.backoff.initialMs;
    while (this.#proc) {
      const proc = this.#proc;
      const started = Date.now();
      const status = await proc.status;
      await this.#output;
      this.#exited = true;
      if (Date.now() - started >= STABLE_RUN_MS) delay = this.backoff.initialMs;
      this.onExit({
        pid: proc.pid,
        status,
        lastOutput: [...this.#lastLines],
        restartInMs: this.#stopping ? null : delay,
      });
      if (this.#stopping) break;
      await this.#sleeper.sleep(delay);
      delay = Math.min(delay * 2, this.backoff.maxMs);
      if (this.#stopping) break;
      await this.#spawn();
    }
    this.#proc = null;
  }

  /** Stops the member (SIGTERM, SIGKILL after `graceMs`) and waits for it to exit. */
  async stop(graceMs = 2000): Promise<void> {
    this.#stopping = true;
    this.#sleeper.wake(); // no restart after a pending back-off
    const proc = this.#proc;
    if (proc && !this.#exited) {
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
    await Deno.remove(`${this.spec.dataDir}/${MEMBER_PID_FILE}`).catch(() => {});
  }
}

/** One log line for an exit of the member: code or signal, the back-off, its last words. */
export function describeEtcdExit(e: EtcdExit): string {
  const how = e.status.signal ? `signal ${e.status.signal}` : `code ${e.status.code}`;
  const next = e.restartInMs === null ? "" : `, restarting in ${e.restartInMs} ms`;
  const last = e.lastOutput.length > 0 ? `; its last output: ${e.lastOutput.join(" | ")}` : "";
  return `etcd member (pid ${e.pid}) exited (${how})${next}${last}`;
}
