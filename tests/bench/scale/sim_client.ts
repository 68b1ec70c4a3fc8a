/**
 * The bench side of the simulated hosts: starts sim_hosts.ts in its own process group and a
 * private mount namespace, drives it with bin/dmg and the control API client, reads memory
 * use, and tears everything down (process group, temp dir) also on failure.
 */
import { create } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { MgmtSvc } from "../../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { SystemQueryReqSchema } from "../../../proto/gen/ts/mgmt/system_pb.ts";
import { parseHostSet } from "../../../control/lib/hostlist.ts";
import { TransportPool } from "../../../control/lib/rpc/transport.ts";
import { DMG, waitFor } from "../../cluster/local_cluster.ts";
import type { SimReady } from "./sim_hosts.ts";
import { buildStandinEngine } from "./standin.ts";

const simScript = new URL("./sim_hosts.ts", import.meta.url).pathname;

/** Result of one bin/dmg run with its wall time. */
export interface TimedDmg {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Memory of the simulation, in MiB. */
export interface SimMemory {
  /** RSS of the process hosting every daos_server. */
  simRss: number;
  /** Peak RSS of that process (VmHWM). */
  simPeak: number;
  /** Sum of the engine processes' RSS. */
  enginesRss: number;
  /** Engine processes counted. */
  engines: number;
  /** RSS of the MS's etcd member. */
  etcdRss: number;
}

/** Runs bin/dmg with `args`, killed after `timeoutMs`; returns output and wall time. */
export async function timedDmg(args: string[], timeoutMs = 120_000): Promise<TimedDmg> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const t0 = performance.now();
  try {
    const out = await new Deno.Command(DMG, { args, stdin: "null", signal: ac.signal }).output();
    const ms = performance.now() - t0;
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr), ms };
  } finally {
    clearTimeout(timer);
  }
}

/** Like {@link timedDmg}, throwing with dmg's output when it exits non-zero. */
export async function dmgOk(args: string[], timeoutMs?: number): Promise<TimedDmg> {
  const r = await timedDmg(args, timeoutMs);
  if (r.code !== 0) {
    throw new Error(`dmg ${args.join(" ")} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  }
  return r;
}

/** Control IPs of `addrs` ("ip:port") folded into host ranges. */
export function hostRanges(addrs: readonly string[]): string[] {
  return parseHostSet(addrs.map((a) => a.split(":")[0]).join(",")).toString().split(",");
}

function kib(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
  return m ? Number(m[1]) : 0;
}

/** A running simulation of `hosts` daos_servers with `engines` engines each. */
export class Simulation {
  readonly dir: string;
  readonly ready: SimReady;
  readonly dmgConfig: string;
  readonly #proc: Deno.ChildProcess;
  readonly #pool = new TransportPool({ security: { allowInsecure: true } });

  private constructor(dir: string, ready: SimReady, proc: Deno.ChildProcess) {
    this.dir = dir;
    this.ready = ready;
    this.#proc = proc;
    this.dmgConfig = `${dir}/daos_control.yml`;
  }

  /**
   * Builds the stand-in engine, starts the simulator and waits (bounded) until it listens.
   * `cpuProfileDir`: write a CPU profile of the simulator there when it stops.
   */
  static async start(
    hosts: number,
    engines: number,
    opts: { cpuProfileDir?: string } = {},
  ): Promise<Simulation> {
    const dir = await Deno.makeTempDir({ prefix: "bench-scale-" });
    let proc: Deno.ChildProcess | undefined;
    try {
      const engine = await buildStandinEngine(dir);
      // setsid: engines share the simulator's process group, so one kill takes all.
      // unshare: the tmpfs mounts of format stay private and die with the simulator.
      proc = new Deno.Command("setsid", {
        args: [
          "unshare",
          "--mount",
          "--propagation",
          "private",
          Deno.execPath(),
          "run",
          "-A",
          // A V8 CPU profile of the simulator, written when it exits (for diagnosis).
          ...(opts.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfileDir}`] : []),
          simScript,
          "--dir",
          dir,
          "--hosts",
          String(hosts),
          "--engines",
          String(engines),
          "--engine",
          engine,
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const errTail = drainTail(proc.stderr);
      const ready = await readReady(proc, errTail, 120_000);
      const sim = new Simulation(dir, ready, proc);
      await Deno.writeTextFile(
        sim.dmgConfig,
        [
          "name: daos_server",
          `port: ${ready.port}`,
          // Folded as an admin writes it (127.0.1.[1-250], …), not 512 separate entries.
          `hostlist: [${hostRanges(ready.hosts).map((r) => `"${r}"`).join(", ")}]`,
          "transport_config:",
          "  allow_insecure: true",
          "",
        ].join("\n"),
      );
      return sim;
    } catch (e) {
      if (proc) await killGroup(proc);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw e;
    }
  }

  /** Pid (and process group) of the simulator. */
  get pid(): number {
    return this.#proc.pid;
  }

  /** Runs bin/dmg with this simulation's daos_control.yml (throws on a non-zero exit). */
  dmg(args: string[], timeoutMs?: number): Promise<TimedDmg> {
    return dmgOk(["-o", this.dmgConfig, ...args], timeoutMs);
  }

  /** The MS's MgmtSvc (host 0, the only replica) over the control API client. */
  mgmt(): Client<typeof MgmtSvc> {
    return createClient(MgmtSvc, this.#pool.get(this.ready.hosts[0]));
  }

  /** Member states from the MS (SystemQuery over the control API client), by state name. */
  async states(): Promise<Map<string, number>> {
    const client = createClient(MgmtSvc, this.#pool.get(this.ready.hosts[0]));
    const resp = await client.systemQuery(create(SystemQueryReqSchema, { sys: "daos_server" }), {
      timeoutMs: 10_000,
    });
    const out = new Map<string, number>();
    for (const m of resp.members) out.set(m.state, (out.get(m.state) ?? 0) + 1);
    return out;
  }

  /** Waits (bounded, polling every 100 ms) until `count` members are in `state`; returns ms. */
  async waitState(state: string, count: number, timeoutMs = 180_000): Promise<number> {
    const t0 = performance.now();
    await waitFor(
      `${count} members ${state}`,
      async () => (await this.states()).get(state) === count,
      timeoutMs,
      100,
    );
    return performance.now() - t0;
  }

  /** The first and last `n` ERROR lines of the simulated servers' shared control log. */
  async errorLines(n = 10): Promise<string> {
    const text = await Deno.readTextFile(`${this.dir}/control.log`).catch(() => "");
    const errors = text.split("\n").filter((l) => l.startsWith("ERROR"));
    if (errors.length <= 2 * n) return errors.join("\n");
    return [...errors.slice(0, n), `… (${errors.length - 2 * n} more)`, ...errors.slice(-n)]
      .join("\n");
  }

  /**
   * CPU seconds (user + system) the simulator process used so far; its 2-core share is what
   * bounds the phases, as every simulated server shares its event loop.
   */
  async cpuSec(): Promise<number> {
    const stat = await Deno.readTextFile(`/proc/${this.#proc.pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime (fields 14 and 15) are in clock ticks, 100 per second on Linux.
    return (Number(f[11]) + Number(f[12])) / 100;
  }

  /** Memory use of the simulator, its engines and etcd (from /proc). */
  async memory(): Promise<SimMemory> {
    const pid = this.#proc.pid;
    const own = await Deno.readTextFile(`/proc/${pid}/status`);
    let enginesKb = 0;
    let engines = 0;
    let etcdKb = 0;
    for await (const e of Deno.readDir("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      const stat = await Deno.readTextFile(`/proc/${e.name}/stat`).catch(() => "");
      // Field 5 (after "pid (comm) state ppid") is the process group.
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[2]) !== pid || Number(e.name) === pid) continue;
      const st = await Deno.readTextFile(`/proc/${e.name}/status`).catch(() => "");
      const name = /^Name:\s+(\S+)/m.exec(st)?.[1] ?? "";
      if (name.startsWith("standin")) {
        enginesKb += kib(st, "VmRSS");
        engines++;
      } else if (name === "etcd") {
        etcdKb += kib(st, "VmRSS");
      }
    }
    return {
      simRss: kib(own, "VmRSS") / 1024,
      simPeak: kib(own, "VmHWM") / 1024,
      enginesRss: enginesKb / 1024,
      engines,
      etcdRss: etcdKb / 1024,
    };
  }

  /**
   * SIGTERM (clean stop of every server), bounded; then SIGKILL of the whole process group
   * in any case, and removal of the temp dir.
   */
  async close(): Promise<void> {
    this.#pool.close();
    try {
      this.#proc.kill("SIGTERM");
    } catch { /* already exited */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#proc.status,
      new Promise((r) => timer = setTimeout(r, 60_000)),
    ]);
    clearTimeout(timer);
    await killGroup(this.#proc);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** True while process group `pgid` has a member (SIGCONT is a harmless probe). */
export function groupAlive(pgid: number): boolean {
  try {
    Deno.kill(-pgid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** SIGKILLs the process group of `proc` until none of it is left (bounded), reaps `proc`. */
async function killGroup(proc: Deno.ChildProcess): Promise<void> {
  for (let i = 0; i < 200 && groupAlive(proc.pid); i++) {
    try {
      Deno.kill(-proc.pid, "SIGKILL");
    } catch { /* gone */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  await proc.status;
}

/** Keeps reading `stream` (so the writer never blocks) and holds its last 64 KiB. */
function drainTail(stream: ReadableStream<Uint8Array>): { text(): string } {
  let tail = "";
  (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      tail = (tail + chunk).slice(-65536);
    }
  })().catch(() => {});
  return { text: () => tail };
}

/** Reads the simulator's ready line (bounded); throws with its stderr when it exits first. */
async function readReady(
  proc: Deno.ChildProcess,
  stderr: { text(): string },
  timeoutMs: number,
): Promise<SimReady> {
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) {
        await proc.status;
        throw new Error(`simulated hosts exited before listening:\n${stderr.text()}`);
      }
      text += value;
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  return JSON.parse(text.slice(0, text.indexOf("\n"))) as SimReady;
}
