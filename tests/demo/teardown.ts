/**
 * `demo down`: stops the demo's daos_servers (SIGTERM, then SIGKILL for anything of their
 * sessions still alive after a deadline: engines, etcd members), unmounts every mount below
 * the state dir, removes the dir, and checks that nothing is left.
 */
import { parseMountInfo } from "../../control/storage/mounts.ts";
import { allProcesses, type ProcRef, type ProcStat, sessionMembers, signalAll } from "./procs.ts";
import { isDemoDir, StateDirError } from "./statedir.ts";

/** What tear-down did and what (if anything) survived it. */
export interface TeardownReport {
  /** Processes that were running when tear-down began. */
  stopped: number;
  /** Of those, how many needed SIGKILL. */
  killed: number;
  unmounted: string[];
  /** The state dir existed when tear-down began. */
  hadDir: boolean;
  removedDir: boolean;
  /** Survivors: each entry names the process, mount or path. Empty = clean. */
  leftovers: string[];
}

/** Tear-down deadlines (ms). */
export interface TeardownTimes {
  /** How long servers get to stop their engines after SIGTERM. */
  graceMs: number;
  /** How long to wait for processes to vanish after SIGKILL. */
  killMs: number;
}

const DEFAULT_TIMES: TeardownTimes = { graceMs: 15_000, killMs: 5_000 };

/** Live processes of every recorded server session. */
export function demoProcesses(leaders: readonly ProcRef[]): ProcStat[] {
  const procs = allProcesses();
  return leaders.flatMap((l) => sessionMembers(l, procs));
}

/** Mount points at or below `dir`, deepest first. */
export async function mountsBelow(dir: string): Promise<string[]> {
  const text = await Deno.readTextFile("/proc/self/mountinfo");
  return parseMountInfo(text)
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
}

async function waitGone(leaders: readonly ProcRef[], ms: number): Promise<ProcStat[]> {
  const until = Date.now() + ms;
  let left = demoProcesses(leaders);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    left = demoProcesses(leaders);
  }
  return left;
}

async function umount(args: string[]): Promise<boolean> {
  const out = await new Deno.Command("umount", { args, stdout: "null", stderr: "null" }).output();
  return out.success;
}

/**
 * Removes everything the demo made below `dir`. `leaders` are the recorded daos_servers.
 * Refuses a dir without the demo marker (it would delete someone else's files).
 */
export async function tearDown(
  dir: string,
  leaders: readonly ProcRef[],
  times: TeardownTimes = DEFAULT_TIMES,
): Promise<TeardownReport> {
  const report: TeardownReport = {
    stopped: 0,
    killed: 0,
    unmounted: [],
    hadDir: await Deno.stat(dir).then(() => true, () => false),
    removedDir: false,
    leftovers: [],
  };
  const procs = allProcesses();
  const sessions = leaders.map((l) => sessionMembers(l, procs));
  const running = sessions.flat();
  report.stopped = running.length;
  if (running.length > 0) {
    // daos_server stops its own engines and etcd member on SIGTERM, so a live leader alone
    // gets it; in a session whose leader died, the orphans get it directly.
    const term = sessions.flatMap((members, i) => {
      const leader = members.find((p) => p.pid === leaders[i].pid);
      return leader ? [leader] : members;
    });
    signalAll(term.map((p) => p.pid), "SIGTERM");
    let left = await waitGone(leaders, times.graceMs);
    report.killed = left.length;
    if (left.length > 0) {
      signalAll(left.map((p) => p.pid), "SIGKILL");
      left = await waitGone(leaders, times.killMs);
    }
    for (const p of left) report.leftovers.push(`process ${p.pid} (${p.comm})`);
  }

  for (const m of await mountsBelow(dir)) {
    // A busy mount (a shell cd'ed into it) is detached lazily rather than left behind.
    if (await umount([m]) || await umount(["-l", m])) report.unmounted.push(m);
  }
  for (const m of await mountsBelow(dir)) report.leftovers.push(`mount ${m}`);

  if (report.hadDir && report.leftovers.length === 0) {
    if (!(await isDemoDir(dir))) {
      throw new StateDirError(`${dir} has no demo marker; not removing it`);
    }
    await Deno.remove(dir, { recursive: true });
    report.removedDir = true;
  }
  if (await Deno.stat(dir).then(() => true, () => false)) report.leftovers.push(`dir ${dir}`);
  return report;
}

/** One-paragraph summary of a tear-down for the terminal. */
export function describeTeardown(dir: string, r: TeardownReport): string {
  const parts = [
    `stopped ${r.stopped} process${r.stopped === 1 ? "" : "es"}` +
    (r.killed > 0 ? ` (${r.killed} needed SIGKILL)` : ""),
    `unmounted ${r.unmounted.length} tmpfs`,
    r.removedDir ? `removed ${dir}` : r.hadDir ? `kept ${dir}` : `${dir} was already gone`,
  ];
  const head = parts.join(", ") + ".";
  if (r.leftovers.length === 0) {
    return `${head}\nVerified: no demo processes, no mounts under ${dir}, no files left.`;
  }
  return `${head}\nNOT clean, still present:\n  ${r.leftovers.join("\n  ")}`;
}
