/**
 * A network lab for multi-host tests: N host namespaces joined by a bridge that lives in its
 * own "switch" namespace, so the root namespace has no route into the lab. Host i has
 * interface `eth0` with address `<subnet>.<i+1>/24` and loopback; its cable is the switch port
 * `h<i>`, which `linkDown(i)` unplugs.
 *
 * Each host also has its own mount and UTS namespace (hostname `h<i>`, /sys showing only its
 * interfaces, and /etc/hosts and /etc/resolv.conf of the lab's own: host names resolve through
 * the lab's file only, never through outside DNS), held by a `sleep` process, so a host outlives the processes run on it: a tmpfs
 * that daos_server mounted survives a kill -9 and restart of daos_server, as on a real host,
 * and disappears with the lab. Processes run on a host through `nsenter` into the holder's
 * namespaces (`prefix(i)`).
 *
 * Always `destroy()` (or use `withLab`): it kills every process in the namespaces and deletes
 * them, which removes the veths and the bridge too. `NetnsLab.create` first sweeps leftovers of
 * crashed earlier runs.
 */
import { ip, run, type RunOptions, type RunResult } from "./exec.ts";
import { BRIDGE, HOST_IFACE, hostAddress, labNsName, switchPort } from "./names.ts";
import { removeLeftoverLabs, removeNamespaces } from "./teardown.ts";
import { markOwned, removeLeftoverDirs } from "./leftover_dirs.ts";

/** Prefix of the lab's resolver directories under the temp dir (swept when their owner died). */
const RESOLVER_DIR_PREFIX = "netns-lab-resolver-";

/** One lab host. */
export interface LabHost {
  index: number;
  /** Network namespace name. */
  ns: string;
  /** IPv4 address (no prefix length). */
  ip: string;
  /** Interface name inside the namespace. */
  iface: string;
  /** Hostname inside the host. */
  hostname: string;
  /** Pid of the process holding the host's mount and UTS namespaces (0 before build). */
  holderPid: number;
}

/** Options of {@link NetnsLab.create}. */
export interface LabOptions {
  /** Number of hosts (1..16). */
  hosts: number;
  /** First three octets of the lab /24 (default "10.231.7"). */
  subnet?: string;
}

/** Options of {@link NetnsLab.spawn}. */
export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  stdout?: "null" | "piped" | "inherit";
  stderr?: "null" | "piped" | "inherit";
}

let labCounter = 0;

/** A running lab; see the module comment. */
export class NetnsLab {
  readonly hosts: LabHost[];
  readonly switchNs: string;
  readonly subnet: string;
  readonly #children = new Set<Deno.ChildProcess>();
  #destroyed = false;
  /** Holds the lab's hosts and resolv.conf, bind-mounted into every host's mount namespace. */
  #resolverDir = "";

  private constructor(tag: string, n: number, subnet: string) {
    this.subnet = subnet;
    this.switchNs = labNsName(Deno.pid, tag, "sw");
    this.hosts = Array.from({ length: n }, (_, i) => ({
      index: i,
      ns: labNsName(Deno.pid, tag, `h${i}`),
      ip: hostAddress(subnet, i),
      iface: HOST_IFACE,
      hostname: `h${i}`,
      holderPid: 0,
    }));
  }

  /** Builds the lab (after sweeping leftovers of crashed runs); on any failure removes it. */
  static async create(opts: LabOptions): Promise<NetnsLab> {
    if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > 16) {
      throw new Error(`invalid lab size ${opts.hosts}: give 1..16 hosts`);
    }
    const tag = `${(++labCounter).toString(36)}${crypto.randomUUID().slice(0, 4)}`;
    const lab = new NetnsLab(tag, opts.hosts, opts.subnet ?? "10.231.7");
    await removeLeftoverLabs();
    await removeLeftoverDirs(tmpDir(), RESOLVER_DIR_PREFIX);
    try {
      await lab.#build();
    } catch (e) {
      await lab.destroy().catch(() => {});
      throw e;
    }
    return lab;
  }

  async #build(): Promise<void> {
    const sw = this.switchNs;
    await ip("netns", "add", sw);
    await ip("-n", sw, "link", "set", "lo", "up");
    await ip("-n", sw, "link", "add", BRIDGE, "type", "bridge");
    await ip("-n", sw, "link", "set", BRIDGE, "up");
    for (const h of this.hosts) {
      const port = switchPort(h.index);
      await ip("netns", "add", h.ns);
      // Created inside the switch namespace with the peer moved straight into the host: no
      // interface ever appears in the root namespace.
      await ip(
        ...`-n ${sw} link add ${port} type veth peer name ${h.iface} netns ${h.ns}`.split(" "),
      );
      await ip("-n", sw, "link", "set", port, "master", BRIDGE, "up");
      await ip("-n", h.ns, "addr", "add", `${h.ip}/24`, "dev", h.iface);
      await ip("-n", h.ns, "link", "set", h.iface, "up");
      await ip("-n", h.ns, "link", "set", "lo", "up");
      // Short neighbour (ARP) timers: with the defaults a connect to an unplugged host that was
      // recently reachable fails only after ~70 s (reachable time, delay, probes, then TCP);
      // with these it fails with EHOSTUNREACH within ~2 s, like a dead host on a small LAN.
      await ip(
        ...`-n ${h.ns} ntable change name arp_cache dev ${h.iface} base_reachable 1000`.split(" "),
        ..."delay_probe 200 retrans 200 ucast_probes 2 mcast_probes 2".split(" "),
      );
    }
    await this.#writeResolver();
    for (const h of this.hosts) h.holderPid = await this.#startHolder(h);
  }

  /**
   * The lab's name service: a hosts file naming `localhost` and every lab host (`h<i>`), and a
   * resolv.conf whose only name server is the host's own loopback, where nothing listens: a name
   * outside the file fails at once inside the lab and no query ever leaves it.
   */
  async #writeResolver(): Promise<void> {
    this.#resolverDir = await Deno.makeTempDir({ prefix: RESOLVER_DIR_PREFIX });
    await markOwned(this.#resolverDir);
    const hosts = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
      .concat(this.hosts.map((h) => `${h.ip} ${h.hostname}`));
    await Deno.writeTextFile(`${this.#resolverDir}/hosts`, hosts.join("\n") + "\n");
    await Deno.writeTextFile(
      `${this.#resolverDir}/resolv.conf`,
      "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    );
  }

  /** The lab's own hosts file (see {@link NetnsLab.#writeResolver}). */
  hostsFile(): string {
    return `${this.#resolverDir}/hosts`;
  }

  /**
   * Starts the host's namespace holder: `ip netns exec` gives a private mount namespace with
   * the namespace's /sys (its mounts do not propagate back), where the lab's hosts and
   * resolv.conf are bind-mounted; `unshare --uts` a hostname; each step execs, so the pid is
   * sleep's.
   */
  async #startHolder(h: LabHost): Promise<number> {
    const child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        h.ns,
        "unshare",
        "--uts",
        "--",
        "sh",
        "-c",
        `mount --bind ${this.#resolverDir}/hosts /etc/hosts && ` +
        `mount --bind ${this.#resolverDir}/resolv.conf /etc/resolv.conf && ` +
        `hostname ${h.hostname} && exec sleep infinity`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#track(child);
    let exited = false;
    child.status.then(() => (exited = true));
    for (let i = 0; i < 200; i++) {
      const comm = await Deno.readTextFile(`/proc/${child.pid}/comm`).catch(() => "");
      if (comm.trim() === "sleep") return child.pid;
      if (exited) {
        const err = await new Response(child.stderr).text();
        throw new Error(`host ${h.ns}: namespace holder exited: ${err.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`host ${h.ns}: namespace holder did not start within 2 s`);
  }

  #track(child: Deno.ChildProcess): void {
    this.#children.add(child);
    child.status.finally(() => this.#children.delete(child));
  }

  /** All namespace names of this lab (switch first). */
  namespaces(): string[] {
    return [this.switchNs, ...this.hosts.map((h) => h.ns)];
  }

  #host(i: number): LabHost {
    const h = this.hosts[i];
    if (!h) throw new Error(`no lab host ${i}: the lab has hosts 0..${this.hosts.length - 1}`);
    if (this.#destroyed) throw new Error("the lab was destroyed");
    return h;
  }

  /**
   * Command prefix that runs a program on host `i` (its network, mount and UTS namespaces):
   * `["nsenter", "-t", <holder pid>, "-n", "-m", "-u", "--"]`. nsenter execs the program, so
   * a spawned child's pid is the program's.
   */
  prefix(i: number): string[] {
    return ["nsenter", "-t", String(this.#host(i).holderPid), "-n", "-m", "-u", "--"];
  }

  /** Runs `cmd args` inside host `i` to completion (bounded by `opts.timeoutMs`). */
  run(i: number, cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const [p, ...rest] = this.prefix(i);
    return run(p, [...rest, cmd, ...args], opts);
  }

  /**
   * Starts `cmd args` on host `i`; the child's pid is the program's. The lab kills and reaps it
   * at `destroy()` if the caller has not.
   */
  spawn(i: number, cmd: string, args: string[], opts: SpawnOptions = {}): Deno.ChildProcess {
    const [p, ...rest] = this.prefix(i);
    const child = new Deno.Command(p, {
      args: [...rest, cmd, ...args],
      env: opts.env,
      cwd: opts.cwd,
      stdin: "null",
      stdout: opts.stdout ?? "null",
      stderr: opts.stderr ?? "null",
    }).spawn();
    this.#track(child);
    return child;
  }

  /** Unplugs host `i`'s cable at the switch: it can reach no other host, nor they it. */
  async linkDown(i: number): Promise<void> {
    await ip("-n", this.switchNs, "link", "set", switchPort(this.#host(i).index), "down");
  }

  /** Plugs host `i`'s cable back in. */
  async linkUp(i: number): Promise<void> {
    await ip("-n", this.switchNs, "link", "set", switchPort(this.#host(i).index), "up");
  }

  /** Whether host `i`'s switch port is administratively up. */
  async linkIsUp(i: number): Promise<boolean> {
    const out = await ip(
      "-n",
      this.switchNs,
      "-o",
      "link",
      "show",
      switchPort(this.#host(i).index),
    );
    const flags = /<([^>]*)>/.exec(out)?.[1].split(",") ?? [];
    return flags.includes("UP");
  }

  /** One ICMP echo from host `from` to host `to` (1 s deadline): true when answered. */
  async ping(from: number, to: number): Promise<boolean> {
    const r = await this.run(from, "ping", ["-c", "1", "-W", "1", "-n", this.#host(to).ip], {
      timeoutMs: 5000,
    });
    return r.code === 0;
  }

  /** Kills everything running in the lab and deletes its namespaces. Idempotent. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const c of this.#children) {
      try {
        c.kill("SIGKILL");
      } catch {
        // already exited
      }
    }
    let err: unknown = null;
    await removeNamespaces(this.namespaces()).catch((e) => (err = e));
    // Reap our own children (bounded: they were SIGKILLed).
    const left = [...this.#children];
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(left.map((c) => c.status)),
      new Promise((r) => (timer = setTimeout(r, 5000))),
    ]);
    clearTimeout(timer);
    for (const c of left) await cancelPipes(c);
    // The bind mounts died with the namespaces; only the files are left.
    if (this.#resolverDir) {
      await Deno.remove(this.#resolverDir, { recursive: true }).catch((e) => (err ??= e));
    }
    if (err) throw err;
  }
}

/** Cancels a child's unread pipes (they would leak as resources); "null" pipes throw on access. */
async function cancelPipes(c: Deno.ChildProcess): Promise<void> {
  for (const get of [() => c.stdout, () => c.stderr]) {
    try {
      await get().cancel();
    } catch {
      // not piped, or already consumed
    }
  }
}

function tmpDir(): string {
  return Deno.env.get("TMPDIR") || "/tmp";
}

/** Runs `fn` with a fresh lab and always destroys it, also when `fn` throws. */
export async function withLab<T>(opts: LabOptions, fn: (lab: NetnsLab) => Promise<T>): Promise<T> {
  const lab = await NetnsLab.create(opts);
  try {
    return await fn(lab);
  } finally {
    await lab.destroy();
  }
}
