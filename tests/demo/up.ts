/**
 * `demo up`: brings up a local DAOS system that outlives this command. Configs come from the
 * LocalCluster fixture (written into the state dir); the daos_servers are started detached in
 * their own sessions and recorded in state.json. Then: format, wait until every rank is
 * Joined, show the system, stop and restart one rank, create a pool on every rank and show its
 * shards, and print how to use and remove it.
 */
import { type DmgResult, freePort, LocalCluster } from "../cluster/local_cluster.ts";
import { DAOS_SERVER } from "../cluster/local_cluster.ts";
import { dmgLine, usageBlock } from "./hints.ts";
import {
  allJoined,
  joinedCount,
  type MemberState,
  parseMembers,
  summarizeStates,
} from "./members.ts";
import type { UpOptions } from "./options.ts";
import { isAlive, spawnDetached } from "./procs.ts";
import { joinProgress } from "./progress.ts";
import { BadStateError, type DemoState, readState, writeState } from "./state.ts";
import { claimStateDir, lockStateDir } from "./statedir.ts";
import { describeTeardown, mountsBelow, tearDown } from "./teardown.ts";

/** Where the demo writes: narrative to `out`; `tty` enables the progress bar (on stderr). */
export interface Io {
  out(text: string): void;
  tty: boolean;
}

/** Raised when the user interrupts the bring-up. */
class Interrupted extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bound on one dmg call; a query against an empty MS would otherwise retry for minutes. */
const DMG_CALL_MS = 30_000;

/** The message for a system that is already up: how to use it, how to remove it. */
export function alreadyRunningText(state: DemoState): string {
  const n = state.servers.length;
  const servers = `${n} daos_server${n === 1 ? "" : "s"}`;
  const lines = [
    `A demo DAOS system is already running in ${state.dir} ` +
    `(${servers}, started ${state.createdAt}); leaving it as it is.`,
  ];
  if (state.phase === "starting") {
    lines.push(
      "Its start-up has not finished (another demo command is starting it, or was killed " +
        "midway); if it does not come up, tear it down and run the demo again.",
    );
  }
  lines.push(usageBlock(state.dmgConfig, state.dir));
  return lines.join("\n");
}

/** True when some recorded daos_server of `state` is alive. */
export function isRunning(state: DemoState): boolean {
  return state.servers.some((s) => isAlive(s));
}

async function tail(path: string, lines: number): Promise<string> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").slice(-lines - 1).join("\n").trimEnd();
}

/** Brings the system up (or reports the running one). Returns the exit status. */
export async function demoUp(o: UpOptions, io: Io, signal?: AbortSignal): Promise<number> {
  if (Deno.uid() !== 0) {
    throw new Error("the demo mounts tmpfs for SCM and needs root: run it as root");
  }
  await claimStateDir(o.stateDir);
  const lock = await lockStateDir(o.stateDir);
  try {
    let state: DemoState | null = null;
    try {
      state = await readState(o.stateDir);
    } catch (e) {
      if (!(e instanceof BadStateError)) throw e;
      io.out(`Ignoring unusable state file: ${e.message}`);
    }
    if (state !== null && isRunning(state)) {
      io.out(alreadyRunningText(state));
      return 0;
    }
    const names = [...Deno.readDirSync(o.stateDir)].map((e) => e.name);
    const leftovers = names.some((n) => n !== ".daos-demo" && n !== ".lock") ||
      (await mountsBelow(o.stateDir)).length > 0;
    if (state !== null || leftovers) {
      io.out(`Found a stale demo in ${o.stateDir} (its servers are gone); cleaning up first.`);
      const r = await tearDown(o.stateDir, state?.servers ?? []);
      io.out(describeTeardown(o.stateDir, r));
      if (r.leftovers.length > 0) return 1;
      await claimStateDir(o.stateDir);
      // The old lock (kept until we return) still holds back other demo commands.
      const fresh = await lockStateDir(o.stateDir);
      try {
        return await bringUp(o, io, signal);
      } finally {
        fresh.close();
      }
    }
    return await bringUp(o, io, signal);
  } finally {
    lock.close();
  }
}

async function bringUp(o: UpOptions, io: Io, signal?: AbortSignal): Promise<number> {
  const t0 = Date.now();
  const check = () => {
    if (signal?.aborted) throw new Interrupted("interrupted");
  };
  // Every server exports its metrics on this port of its own address (server.md §8).
  const telemetryPort = freePort(Array.from({ length: o.servers }, (_, i) => `127.0.0.${i + 1}`));
  const cluster = await LocalCluster.create({
    servers: o.servers,
    replicas: o.replicas,
    engines: o.engines,
    targets: o.targets,
    root: o.stateDir,
    extraServerYaml: `telemetry_port: ${telemetryPort}`,
  });
  const state: DemoState = {
    version: 1,
    dir: o.stateDir,
    phase: "starting",
    createdAt: new Date().toISOString(),
    port: cluster.port,
    dmgConfig: cluster.dmgConfigPath,
    servers: [],
  };
  await writeState(state);
  const ranks = o.servers * o.engines;
  io.out(
    `Starting ${o.servers} daos_server${o.servers === 1 ? "" : "s"} on ` +
      `${
        o.servers === 1 ? "127.0.0.1" : `127.0.0.[1-${o.servers}]`
      }:${cluster.port} (${o.engines} engine${o.engines === 1 ? "" : "s"} ` +
      `each, ${o.targets} target${o.targets === 1 ? "" : "s"} per engine, ${o.replicas} MS ` +
      `replica${o.replicas === 1 ? "" : "s"}), state in ${o.stateDir}`,
  );
  try {
    for (const s of cluster.servers) {
      const logPath = `${s.dir}/daos_server.out`;
      const ref = spawnDetached(DAOS_SERVER, ["start", "-o", s.configPath], logPath);
      state.servers.push({ ...ref, addr: s.addr, configPath: s.configPath, logPath });
      // Recorded at once, so an interrupted start still gets torn down completely.
      await writeState(state);
    }
    for (const [i, s] of cluster.servers.entries()) {
      await waitListening(s.ip, cluster.port, state.servers[i], check);
    }
    io.out(`All daos_servers listen (${((Date.now() - t0) / 1000).toFixed(1)} s).`);

    const show = async (args: string[]) => {
      check();
      io.out(`\n$ ${dmgLine(cluster.dmgConfigPath, args)}`);
      const r = await cluster.dmg(args, { timeoutMs: DMG_CALL_MS });
      io.out((r.stdout + r.stderr).trimEnd());
      if (r.code !== 0) throw new Error(`dmg ${args.join(" ")} failed (exit ${r.code})`);
      return r;
    };

    await show(["storage", "format"]);
    await waitMembers(cluster, io, allRanksJoined(ranks), o, check);
    io.out(`All ${ranks} ranks Joined (${((Date.now() - t0) / 1000).toFixed(1)} s after start).`);
    await show(["system", "query", "-v"]);
    await show(["storage", "query", "usage"]);
    // The MS leader was elected through etcd among the replicas.
    await show(["system", "leader-query"]);

    const victim = ranks - 1;
    io.out(`\nStopping and restarting rank ${victim}:`);
    await show(["system", "stop", "-r", String(victim)]);
    const stopped = (m: MemberState[]) => m.some((x) => x.rank === victim && x.state === "stopped");
    await waitMembers(
      cluster,
      io,
      {
        label: `Rank ${victim} stopped`,
        total: 1,
        progress: (m) => stopped(m) ? 1 : 0,
        done: stopped,
      },
      o,
      check,
    );
    await show(["system", "query"]);
    await show(["system", "start", "-r", String(victim)]);
    await waitMembers(cluster, io, allRanksJoined(ranks), o, check);
    await show(["system", "query"]);

    // A pool over every rank: real pmemobj shards on each SCM mount and NVMe extents.
    io.out("\nCreating a pool on every rank:");
    await show(["pool", "create", "-z", "1G", "tank"]);
    await show(["pool", "list"]);
    await show(["pool", "query", "tank"]);
    io.out(`\nIts shards (pmemobj files, one per target):`);
    for (const line of await shardListing(cluster, o.engines)) io.out(line);
    await show(["storage", "query", "usage"]);

    state.phase = "running";
    await writeState(state);
    io.out(
      `\nThe local DAOS system is up and keeps running after this command ` +
        `(${((Date.now() - t0) / 1000).toFixed(1)} s).`,
    );
    io.out(usageBlock(cluster.dmgConfigPath, o.stateDir, Deno.cwd(), telemetryPort));
    return 0;
  } catch (e) {
    io.out(`\nDemo failed: ${e instanceof Error ? e.message : String(e)}`);
    if (!(e instanceof Interrupted)) {
      for (const s of cluster.servers) {
        for (const p of [`${s.dir}/daos_server.out`, s.logPath]) {
          const t = await tail(p, 15);
          if (t) io.out(`--- last lines of ${p}:\n${t}`);
        }
      }
    }
    io.out("Tearing down what was started:");
    const r = await tearDown(o.stateDir, state.servers);
    io.out(describeTeardown(o.stateDir, r));
    return 1;
  }
}

async function waitListening(
  ip: string,
  port: number,
  ref: { pid: number; startTime: number; logPath: string },
  check: () => void,
): Promise<void> {
  const until = Date.now() + 30_000;
  for (let i = 0; i < 3000 && Date.now() < until; i++) {
    check();
    if (!isAlive(ref)) {
      throw new Error(`daos_server for ${ip} exited at start; see ${ref.logPath}`);
    }
    try {
      (await Deno.connect({ hostname: ip, port })).close();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`daos_server for ${ip}:${port} did not listen within 30 s`);
}

/** What waitMembers waits for, and how far along it is (0..total). */
interface Goal {
  label: string;
  total: number;
  progress(m: MemberState[]): number;
  done(m: MemberState[]): boolean;
}

/** Exactly `n` members, all Joined. */
function allRanksJoined(n: number): Goal {
  return { label: "Ranks joined", total: n, progress: joinedCount, done: (m) => allJoined(m, n) };
}

/** Polls `dmg -j system query` (bounded by --join-timeout) until `goal` is done. */
async function waitMembers(
  cluster: LocalCluster,
  io: Io,
  goal: Goal,
  o: UpOptions,
  check: () => void,
): Promise<MemberState[]> {
  const bar = joinProgress(goal.label, goal.total, io.tty);
  const until = Date.now() + o.joinTimeout * 1000;
  let last = "no answer yet";
  try {
    for (let i = 0; i < 100_000 && Date.now() < until; i++) {
      check();
      let r: DmgResult | undefined;
      try {
        r = await cluster.dmg(["-j", "system", "query"], {
          timeoutMs: Math.min(DMG_CALL_MS, Math.max(1000, until - Date.now())),
        });
        const members = parseMembers(r.stdout);
        last = summarizeStates(members) || "no members yet";
        bar.update(Math.min(goal.total, goal.progress(members)), last);
        if (goal.done(members)) return members;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      await sleep(250);
    }
  } finally {
    bar.stop();
  }
  throw new Error(
    `timed out after ${o.joinTimeout} s (--join-timeout) at "${goal.label}": ${last}`,
  );
}

/** One line per SCM mount: the pool directories below it and their `vos-<target>` files. */
async function shardListing(cluster: LocalCluster, engines: number): Promise<string[]> {
  const lines: string[] = [];
  for (const s of cluster.servers) {
    for (let e = 0; e < engines; e++) {
      const mount = `${s.dir}/scm${e}`;
      for await (const d of Deno.readDir(mount)) {
        if (!d.isDirectory || !/^[0-9a-f-]{36}$/.test(d.name)) continue;
        const files: string[] = [];
        for await (const f of Deno.readDir(`${mount}/${d.name}`)) {
          const st = await Deno.stat(`${mount}/${d.name}/${f.name}`);
          files.push(`${f.name} (${st.size} bytes)`);
        }
        lines.push(`  ${mount}/${d.name}/: ${files.sort().join(", ")}`);
      }
    }
  }
  return lines;
}
