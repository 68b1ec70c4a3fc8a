/**
 * A local DAOS cluster for tests and demos: N real bin/daos_server processes on 127.0.0.[1-N]
 * (one shared control port), E engines each on tmpfs SCM (scm_size 4) and a 1 GiB file bdev,
 * the first R servers MS replicas with their own etcd ports, and a daos_control.yml for bin/dmg.
 *
 * ```ts
 * const c = await LocalCluster.create({ servers: 5, replicas: 3 });
 * try {
 *   await c.startAll();
 *   await c.dmg(["storage", "format"]);
 *   await c.waitFor("10 joined", async () => (await c.joinedRanks()).length === 10);
 * } finally {
 *   await c.destroy(); // processes (whole process groups), tmpfs mounts, files
 * }
 * ```
 *
 * Each daos_server runs in its own process group (setsid), so kill() with SIGKILL also takes
 * its engines and etcd member down, as a machine crash would.
 */
import { parseMountInfo } from "../../control/storage/mounts.ts";

const top = new URL("../../", import.meta.url).pathname;
/** bin/daos_server of this checkout. */
export const DAOS_SERVER = `${top}bin/daos_server`;
/** bin/dmg of this checkout. */
export const DMG = `${top}bin/dmg`;

/** Cluster shape. */
export interface ClusterOptions {
  /** daos_server count (127.0.0.1 … 127.0.0.N). */
  servers: number;
  /** The first `replicas` servers are MS replicas (odd; default 1). */
  replicas?: number;
  /** Engines per server (default 2). */
  engines?: number;
  /** Targets per engine (default 1). */
  targets?: number;
  /** System name (default daos_server). */
  name?: string;
  /** Extra top-level daos_server.yml lines (e.g. "disable_engine_auto_restart: true"). */
  extraServerYaml?: string;
  /** Extra `mgmt_svc_db` keys, indented YAML lines. */
  extraDbYaml?: string;
  /**
   * Control IPs of the servers (default 127.0.0.[1-N]); e.g. addresses of network-namespace
   * hosts (tests/netns), which also need `commandPrefix`.
   */
  hostIps?: string[];
  /** Control port (default: one free on every loopback IP). */
  port?: number;
  /** Engines' fabric_iface (default lo). */
  fabricIface?: string;
  /**
   * Command prefix that runs a program on server i's host, e.g. `["ip","netns","exec",ns]`;
   * used for daos_server, for dmg with `on: i`, and for the listen probe. It must exec the
   * program (keep the pid). Default: run directly.
   */
  commandPrefix?: (index: number) => string[];
  /** Build in this existing dir instead of a new temp dir (the demo's state dir). */
  root?: string;
}

/** Options of {@link LocalCluster.dmg}. */
export interface DmgOptions {
  /** Run dmg on server i's host (through `commandPrefix`); default: directly. */
  on?: number;
  /** Kill dmg after this long (default 60000 ms). */
  timeoutMs?: number;
}

/** One server of the cluster. */
export interface ClusterServer {
  /** 0-based index. */
  index: number;
  /** Control IP, 127.0.0.<index+1>. */
  ip: string;
  /** "ip:port". */
  addr: string;
  dir: string;
  configPath: string;
  socketDir: string;
  /** control_log_file. */
  logPath: string;
  isReplica: boolean;
  /** The running process, if any. */
  proc: Deno.ChildProcess | null;
}

/** Result of one dmg run. */
export interface DmgResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One member as in `dmg system query -j` (response.members[]). */
export interface JsonMember {
  addr: string;
  uuid: string;
  rank: number;
  incarnation: number;
  state: string;
  info?: string;
  fault_domain?: string;
}

const portsInUse = new Set<number>();

/** A TCP port free on every address right now, not handed out before in this process. */
export function freePort(addrs: readonly string[] = ["127.0.0.1"]): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = Deno.listen({ hostname: addrs[0], port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    if (portsInUse.has(port)) continue;
    const held: Deno.Listener[] = [];
    try {
      for (const a of addrs) held.push(Deno.listen({ hostname: a, port }));
      portsInUse.add(port);
      return port;
    } catch {
      // taken on another address: try another
    } finally {
      for (const l of held) l.close();
    }
  }
  throw new Error(`no port free on all of ${addrs.join(", ")}`);
}

/** Polls `f` (bounded by count and time) until it returns a truthy value. */
export async function waitFor<T>(
  what: string,
  f: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 15_000,
  stepMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  let lastValue: unknown;
  for (let i = 0; i < 100_000 && Date.now() < end; i++) {
    try {
      const v = await f();
      if (v) return v as T;
      last = undefined;
      lastValue = v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  // The last falsy value is worth showing unless it is a bare false/undefined.
  const shown = lastValue === false || lastValue === undefined
    ? ""
    : ` (last value: ${JSON.stringify(lastValue, (_, v) => typeof v === "bigint" ? `${v}` : v)})`;
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${
      last ? `: ${last instanceof Error ? last.message : last}` : ""
    }${shown}`,
  );
}

/** One line per member: "rank state incarnation addr info", for failure messages. */
export function describeMembers(ms: JsonMember[]): string {
  return [...ms].sort((a, b) => a.rank - b.rank)
    .map((m) => `  rank ${m.rank} ${m.state} inc=${m.incarnation} ${m.addr} ${m.info ?? ""}`)
    .join("\n");
}

/** Mount points at or below `dir`, deepest first. */
async function mountsBelow(dir: string): Promise<string[]> {
  return parseMountInfo(await Deno.readTextFile("/proc/self/mountinfo"))
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts everything below `dir`; returns one problem text per mount that would not go. */
async function unmountBelow(dir: string): Promise<string[]> {
  const problems: string[] = [];
  for (const p of await mountsBelow(dir)) {
    const out = await new Deno.Command("umount", {
      args: ["-l", p],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      problems.push(`umount ${p}: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
  }
  return problems;
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT"); // harmless probe: throws when no such process
    return true;
  } catch {
    return false;
  }
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, ...]. */
async function statFields(pid: string): Promise<string[] | null> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  const i = stat.lastIndexOf(")");
  return i < 0 ? null : stat.slice(i + 2).split(" ");
}

/** Live (not zombie) processes of process group `pgid`. */
async function groupMembers(pgid: number): Promise<number[]> {
  const out: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const f = await statFields(e.name);
    if (f && f[0] !== "Z" && Number(f[2]) === pgid) out.push(Number(e.name));
  }
  return out;
}

/**
 * Live processes (not this one, not zombies) whose command line names a path under `dir`:
 * daos_server via its config, engines via their SCM mount, etcd via its data dir.
 */
async function processesUnder(dir: string): Promise<{ pid: number; cmd: string }[]> {
  const out: { pid: number; cmd: string }[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`).catch(() => "");
    if (!cmd.includes(dir)) continue;
    const f = await statFields(e.name);
    if (f && f[0] !== "Z") out.push({ pid: Number(e.name), cmd: cmd.replaceAll("\0", " ") });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** A set of daos_servers on loopback addresses, with their configs, under one temp dir. */
export class LocalCluster {
  readonly root: string;
  readonly port: number;
  readonly servers: ClusterServer[];
  readonly dmgConfigPath: string;
  readonly name: string;
  #pgids = new Set<number>();
  readonly #prefix: ((index: number) => string[]) | null;

  private constructor(
    root: string,
    port: number,
    servers: ClusterServer[],
    name: string,
    prefix: ((index: number) => string[]) | null,
  ) {
    this.#prefix = prefix;
    this.root = root;
    this.port = port;
    this.servers = servers;
    this.name = name;
    this.dmgConfigPath = `${root}/daos_control.yml`;
  }

  /** Writes every config (no process started). Call destroy() in finally. */
  static async create(opts: ClusterOptions): Promise<LocalCluster> {
    const n = opts.servers;
    const nrep = opts.replicas ?? 1;
    const engines = opts.engines ?? 2;
    const targets = opts.targets ?? 1;
    const name = opts.name ?? "daos_server";
    if (!(n >= 1 && n <= 250)) throw new Error(`servers must be 1..250, got ${n}`);
    if (!(nrep >= 1 && nrep <= n && nrep % 2 === 1)) {
      throw new Error(`replicas must be odd and within 1..servers, got ${nrep}`);
    }
    if (opts.hostIps && opts.hostIps.length !== n) {
      throw new Error(`hostIps has ${opts.hostIps.length} addresses for ${n} servers`);
    }
    const ips = opts.hostIps ?? Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
    const root = opts.root ?? await Deno.makeTempDir({ prefix: "daos-cluster-" });
    // Addresses that are not ours to bind (another namespace) cannot be probed for a port.
    const port = opts.port ?? freePort(opts.hostIps ? ["127.0.0.1"] : ips);
    const cluster = new LocalCluster(root, port, [], name, opts.commandPrefix ?? null);
    try {
      const replicaAddrs = ips.slice(0, nrep).map((ip) => `${ip}:${port}`);
      const dbPorts = replicaAddrs.map((a) =>
        `    "${a}": {client: ${freePort()}, peer: ${freePort()}}`
      ).join("\n");
      for (let i = 0; i < n; i++) {
        const ip = ips[i];
        const dir = `${root}/srv${i + 1}`;
        const socketDir = `${dir}/run`;
        await Deno.mkdir(socketDir, { recursive: true });
        let yaml = [
          `name: ${name}`,
          `port: ${port}`,
          `control_address: ${ip}`,
          `mgmt_svc_replicas: [${replicaAddrs.join(", ")}]`,
          "provider: ofi+tcp",
          `socket_dir: ${socketDir}`,
          "system_ram_reserved: 1",
          // Test hosts may run THP [always]; the default (false) would refuse to start there.
          "allow_thp: true",
          "control_log_mask: DEBUG",
          `control_log_file: ${dir}/control.log`,
          "transport_config:",
          "  allow_insecure: true",
          "mgmt_svc_db:",
          "  ports:",
          dbPorts,
          ...(opts.extraDbYaml ? [opts.extraDbYaml] : []),
          ...(opts.extraServerYaml ? [opts.extraServerYaml] : []),
          "engines:",
        ].join("\n") + "\n";
        for (let e = 0; e < engines; e++) {
          yaml += [
            `  - targets: ${targets}`,
            "    nr_xs_helpers: 0",
            `    fabric_iface: ${opts.fabricIface ?? "lo"}`,
            `    fabric_iface_port: ${freePort()}`,
            `    log_file: ${dir}/engine${e}.log`,
            "    storage:",
            "      - class: ram",
            `        scm_mount: ${dir}/scm${e}`,
            "        scm_size: 4",
            "      - class: file",
            `        bdev_list: [${dir}/bdev${e}]`,
            "        bdev_size: 1",
          ].join("\n") + "\n";
        }
        const configPath = `${dir}/daos_server.yml`;
        await Deno.writeTextFile(configPath, yaml);
        cluster.servers.push({
          index: i,
          ip,
          addr: `${ip}:${port}`,
          dir,
          configPath,
          socketDir,
          logPath: `${dir}/control.log`,
          isReplica: i < nrep,
          proc: null,
        });
      }
      await Deno.writeTextFile(
        cluster.dmgConfigPath,
        [
          `name: ${name}`,
          `port: ${port}`,
          `hostlist: [${ips.join(", ")}]`,
          "transport_config:",
          "  allow_insecure: true",
          "",
        ].join("\n"),
      );
      return cluster;
    } catch (e) {
      // Nothing was started yet; the config error is the one to report.
      await cluster.destroy().catch(() => {});
      throw e;
    }
  }

  /** Server by 0-based index, or by control IP. */
  server(which: number | string): ClusterServer {
    const s = typeof which === "number"
      ? this.servers[which]
      : this.servers.find((x) => x.ip === which || x.addr === which);
    if (!s) throw new Error(`no server ${which} in this cluster`);
    return s;
  }

  /** Starts server(s) and waits (bounded) until each listens on its control address. */
  async start(...which: (number | string)[]): Promise<void> {
    const list = which.map((w) => this.server(w));
    for (const s of list) {
      if (s.proc) throw new Error(`server ${s.addr} is already running`);
      // setsid: its own process group, so engines and etcd die with it on kill().
      // stderr appended to <dir>/daos_server.stderr.log: runtime crashes (panics, aborts) show
      // up nowhere else.
      s.proc = new Deno.Command("setsid", {
        args: [
          ...this.#prefixOf(s.index),
          "sh",
          "-c",
          'exec "$@" 2>>"$0"',
          `${s.dir}/daos_server.stderr.log`,
          DAOS_SERVER,
          "start",
          "-o",
          s.configPath,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      this.#pgids.add(s.proc.pid);
    }
    await Promise.all(list.map((s) => this.#waitListening(s)));
  }

  /** Starts every server. */
  startAll(): Promise<void> {
    return this.start(...this.servers.map((s) => s.index));
  }

  async #waitListening(s: ClusterServer): Promise<void> {
    const proc = s.proc!;
    let exited = false;
    proc.status.then(() => (exited = true));
    await waitFor(
      `daos_server ${s.addr} to listen`,
      async () => {
        if (exited) {
          throw new Error(
            `daos_server ${s.addr} exited at start; log:\n${await this.log(s.index)}`,
          );
        }
        return await this.#listening(s);
      },
      20_000,
      50,
    );
    if (exited) throw new Error(`daos_server ${s.addr} exited at start`);
  }

  #prefixOf(index: number): string[] {
    return this.#prefix ? this.#prefix(index) : [];
  }

  /** Whether `s` accepts TCP connections on its control address (from its own host). */
  async #listening(s: ClusterServer): Promise<boolean> {
    if (!this.#prefix) {
      try {
        (await Deno.connect({ hostname: s.ip, port: this.port })).close();
        return true;
      } catch {
        return false;
      }
    }
    // Another namespace: connect from inside it (bash's /dev/tcp, bounded by timeout).
    const [cmd, ...args] = this.#prefix(s.index);
    const out = await new Deno.Command(cmd, {
      args: [...args, "timeout", "2", "bash", "-c", `exec 3<>/dev/tcp/${s.ip}/${this.port}`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  }

  /** SIGTERM and wait (bounded) for a clean exit; returns the exit code. */
  async stop(which: number | string, timeoutMs = 20_000): Promise<number> {
    const s = this.server(which);
    const proc = s.proc;
    if (!proc) throw new Error(`server ${s.addr} is not running`);
    try {
      proc.kill("SIGTERM");
    } catch {
      const st = await proc.status;
      s.proc = null;
      await this.#reapGroup(proc.pid);
      throw new Error(
        `daos_server ${s.addr} had already exited (code ${st.code}, signal ${st.signal}); ` +
          `log tail:\n${(await this.log(s.index)).split("\n").slice(-30).join("\n")}\n` +
          `stderr:\n${await Deno.readTextFile(`${s.dir}/daos_server.stderr.log`).catch(() => "")}`,
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const st = await Promise.race([
      proc.status,
      new Promise<null>((r) => timer = setTimeout(() => r(null), timeoutMs)),
    ]);
    clearTimeout(timer);
    if (st === null) {
      await this.kill(which);
      throw new Error(`daos_server ${s.addr} did not stop within ${timeoutMs} ms of SIGTERM`);
    }
    s.proc = null;
    await this.#reapGroup(proc.pid);
    return st.code;
  }

  /** SIGKILLs the server's whole process group (daos_server, engines, etcd), like a crash. */
  async kill(which: number | string): Promise<void> {
    const s = this.server(which);
    const proc = s.proc;
    if (!proc) return;
    try {
      Deno.kill(-proc.pid, "SIGKILL");
    } catch { /* group gone */ }
    await proc.status;
    s.proc = null;
    await this.#reapGroup(proc.pid);
  }

  /**
   * SIGKILLs the daos_server process alone (not its group): its engines and etcd member must
   * notice and go by themselves. The caller checks what is left ({@link processes}).
   */
  async killServerOnly(which: number | string): Promise<void> {
    const s = this.server(which);
    const proc = s.proc;
    if (!proc) throw new Error(`server ${s.addr} is not running`);
    try {
      proc.kill("SIGKILL");
    } catch { /* already gone */ }
    await proc.status;
    s.proc = null;
    // The group stays registered: destroy() reaps and reports whatever the kill left.
  }

  /** Stops (SIGTERM) then starts a server again. */
  async restart(which: number | string): Promise<void> {
    await this.stop(which);
    await this.start(which);
  }

  /**
   * Waits (bounded) until no live process of the group is left, SIGKILLing stragglers; throws
   * naming the survivors (zombies of an exited parent do not count: they are dead).
   */
  async #reapGroup(pgid: number): Promise<void> {
    let left: number[] = [];
    for (let i = 0; i < 100; i++) {
      left = await groupMembers(pgid);
      if (left.length === 0) break;
      try {
        Deno.kill(-pgid, "SIGKILL");
      } catch { /* gone */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    this.#pgids.delete(pgid);
    if (left.length > 0) {
      throw new Error(`process group ${pgid} survived SIGKILL for 5 s: pids ${left.join(", ")}`);
    }
  }

  /** Pids of the server's running engines, by instance index (from daos_engine_<pid>.sock). */
  async enginePids(which: number | string): Promise<number[]> {
    const s = this.server(which);
    const pids: number[] = [];
    for await (const e of Deno.readDir(s.socketDir)) {
      const m = /^daos_engine_(\d+)\.sock$/.exec(e.name);
      if (m && alive(Number(m[1]))) pids.push(Number(m[1]));
    }
    // Instance index: the engine's -I argument.
    const idx = async (pid: number) => {
      const cmd = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
      const args = cmd.split("\0");
      return Number(args[args.indexOf("-I") + 1] ?? -1);
    };
    const withIdx = await Promise.all(pids.map(async (p) => [await idx(p), p] as const));
    const out: number[] = [];
    for (const [i, p] of withIdx) out[i] = p;
    return out;
  }

  /**
   * Pids of every process whose command line names a file of this server (daos_server via its
   * config, engines via their SCM mount, etcd via its data dir): what must be gone after kill().
   */
  async processes(which: number | string): Promise<number[]> {
    return (await processesUnder(this.server(which).dir + "/")).map((p) => p.pid);
  }

  /** The server's control log so far ("" when none). */
  log(which: number | string): Promise<string> {
    return Deno.readTextFile(this.server(which).logPath).catch(() => "");
  }

  /** Runs bin/dmg with this cluster's daos_control.yml (bounded by `opts.timeoutMs`). */
  async dmg(args: string[], opts: DmgOptions = {}): Promise<DmgResult> {
    const [cmd, ...pre] = opts.on === undefined
      ? [DMG]
      : [...this.#prefixOf(this.server(opts.on).index), DMG];
    const ac = new AbortController();
    const limit = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => ac.abort(), limit);
    const out = await new Deno.Command(cmd, {
      args: [...pre, "-o", this.dmgConfigPath, ...args],
      stdin: "null",
      signal: ac.signal,
    }).output().finally(() => clearTimeout(timer));
    const dec = new TextDecoder();
    const killed = ac.signal.aborted ? `\n(dmg killed after ${limit} ms)` : "";
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr) + killed,
    };
  }

  /**
   * Runs dmg with -j and returns the parsed envelope ({response, error, status}); throws when
   * the output is not JSON.
   */
  async dmgJson<T = Record<string, unknown>>(
    args: string[],
    opts: DmgOptions = {},
  ): Promise<{ response: T | null; error: string | null; status: number; code: number }> {
    const r = await this.dmg(["-j", ...args], opts);
    try {
      return { ...JSON.parse(r.stdout), code: r.code };
    } catch {
      throw new Error(
        `dmg -j ${args.join(" ")}: not JSON (exit ${r.code}):\n${r.stdout}${r.stderr}`,
      );
    }
  }

  /** `dmg system query` members (throws on an error answer). */
  async members(opts: DmgOptions = {}): Promise<JsonMember[]> {
    const r = await this.dmgJson<{ members: JsonMember[] }>(["system", "query"], opts);
    if (r.error || !r.response) throw new Error(`system query: ${r.error}`);
    return r.response.members ?? [];
  }

  /** Ranks in state joined, sorted. */
  async joinedRanks(opts: DmgOptions = {}): Promise<number[]> {
    return (await this.members(opts)).filter((m) => m.state === "joined").map((m) => m.rank)
      .sort((a, b) => a - b);
  }

  /**
   * Polls (bounded) until `f` is truthy; see {@link waitFor}. On timeout the error also shows
   * the members as `dmg system query` sees them then, and the log lines of every server that
   * mark ranks unresponsive/errored or change the MS leader.
   */
  async waitFor<T>(
    what: string,
    f: () => Promise<T | undefined | null | false> | T | undefined | null | false,
    timeoutMs = 15_000,
  ): Promise<T> {
    try {
      return await waitFor(what, f, timeoutMs);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(`${msg}\n${await this.diagnostics()}`);
    }
  }

  /** Member states and the servers' notable log lines, for failure messages. */
  async diagnostics(): Promise<string> {
    const out: string[] = [];
    try {
      out.push(`members:\n${describeMembers(await this.members({ timeoutMs: 20_000 }))}`);
    } catch (e) {
      out.push(`members: ${e instanceof Error ? e.message : e}`);
    }
    const notable = /unresponsive|unreachable|errored|leadership|restor|rejoin|event \d+|join of/i;
    for (const s of this.servers) {
      const lines = (await this.log(s.index)).split("\n").filter((l) => notable.test(l));
      out.push(`${s.addr} log (${lines.length} notable lines, last 40):`);
      out.push(...lines.slice(-40).map((l) => `  ${l}`));
      const err = (await Deno.readTextFile(`${s.dir}/daos_server.stderr.log`).catch(() => ""))
        .trim();
      if (err) out.push(`${s.addr} stderr (last 20 lines):`, ...err.split("\n").slice(-20));
    }
    return out.join("\n");
  }

  /**
   * With DAOS_TEST_KEEP_LOGS=<dir> set, copies every server's control and engine logs to
   * <dir>/<temp dir name>/srvN/ before the temp tree goes (post-mortem of flaky runs).
   */
  async #keepLogs(): Promise<void> {
    const keep = Deno.env.get("DAOS_TEST_KEEP_LOGS");
    if (!keep) return;
    const base = `${keep}/${this.root.split("/").filter(Boolean).pop()}`;
    for (const s of this.servers) {
      const to = `${base}/srv${s.index + 1}`;
      await Deno.mkdir(to, { recursive: true });
      for await (const e of Deno.readDir(s.dir)) {
        if (e.isFile && e.name.endsWith(".log")) {
          await Deno.copyFile(`${s.dir}/${e.name}`, `${to}/${e.name}`);
        }
      }
    }
  }

  /**
   * Kills every process group, unmounts the tmpfs mounts and removes the temp tree, then checks
   * that nothing is left: a surviving process (an orphaned engine or etcd member), a mount or
   * the tree itself is killed/cleaned as far as possible and reported by throwing.
   */
  async destroy(): Promise<void> {
    const problems: string[] = [];
    const note = (what: string) => (e: unknown) =>
      problems.push(`${what}: ${e instanceof Error ? e.message : e}`);
    for (const s of this.servers) await this.kill(s.index).catch(note(`kill ${s.addr}`));
    for (const pgid of [...this.#pgids]) {
      await this.#reapGroup(pgid).catch(note(`process group ${pgid}`));
    }
    await this.#keepLogs().catch(note("keeping logs"));
    // Anything still naming our files escaped its group (setsid, double fork): an orphan.
    const stray = await processesUnder(this.root + "/");
    for (const p of stray) {
      problems.push(`process left after teardown: pid ${p.pid}: ${p.cmd}`);
      try {
        Deno.kill(p.pid, "SIGKILL");
      } catch { /* gone meanwhile */ }
    }
    for (let i = 0; i < 100 && stray.some((p) => alive(p.pid)); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    problems.push(...await unmountBelow(this.root).catch((e) => [`unmount: ${e}`]));
    const mounts = await mountsBelow(this.root).catch(() => []);
    if (mounts.length > 0) problems.push(`mounts left after teardown: ${mounts.join(", ")}`);
    await Deno.remove(this.root, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) note(`removing ${this.root}`)(e);
    });
    if (await Deno.lstat(this.root).then(() => true, () => false)) {
      problems.push(`${this.root} still exists after teardown`);
    }
    if (problems.length > 0) {
      throw new Error(`cluster teardown found leftovers:\n  ${problems.join("\n  ")}`);
    }
  }
}
