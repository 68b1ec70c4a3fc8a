/**
 * Process bookkeeping for the demo: /proc stat parsing, liveness of a recorded process
 * (pid + start time, so a reused pid is not mistaken for ours), the members of a session,
 * and spawning a process detached into its own session with output in a log file.
 */

/** A process as recorded in the state file: the pid alone is not enough (pids are reused). */
export interface ProcRef {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot). */
  startTime: number;
}

/** The fields of /proc/<pid>/stat the demo uses. */
export interface ProcStat extends ProcRef {
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  sid: number;
}

/** Parses the text of /proc/<pid>/stat; null when it is not in the expected shape. */
export function parseProcStat(text: string): ProcStat | null {
  // comm is in parentheses and may itself contain spaces or ')': split at the last ')'.
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const num = (field: number) => Number(rest[field - 3]);
  const st: ProcStat = {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0] ?? "",
    ppid: num(4),
    pgrp: num(5),
    sid: num(6),
    startTime: num(22),
  };
  const ints = [st.pid, st.ppid, st.pgrp, st.sid, st.startTime];
  return ints.every((n) => Number.isInteger(n) && n >= 0) && st.state !== "" ? st : null;
}

/** /proc/<pid>/stat of a live process, or null when it is gone. */
export function readProcStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return null;
  }
}

/** True when `ref` is still running (same pid and start time, and not a zombie). */
export function isAlive(ref: ProcRef): boolean {
  const st = readProcStat(ref.pid);
  return st !== null && st.startTime === ref.startTime && st.state !== "Z";
}

/** Every live (non-zombie) process on the machine. */
export function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const st = readProcStat(Number(e.name));
    if (st && st.state !== "Z") out.push(st);
  }
  return out;
}

/**
 * The live processes of the session led by `leader`: the leader and everything it started
 * (children keep the session id even after the leader died and they were reparented).
 * A pid cannot be reused while a session with that id has members, so when a *different*
 * process now holds the leader's pid, the old session is empty and nothing is returned.
 */
export function sessionMembers(leader: ProcRef, procs = allProcesses()): ProcStat[] {
  const holder = procs.find((p) => p.pid === leader.pid);
  if (holder && holder.startTime !== leader.startTime) return [];
  return procs.filter((p) => p.sid === leader.pid && p.pid !== Deno.pid);
}

/** Sends `signal` to each pid; processes that are already gone are skipped. */
export function signalAll(pids: readonly number[], signal: Deno.Signal): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, signal);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

/**
 * Starts `cmd args` in a new session (setsid), detached from this process so it outlives
 * it, with stdout and stderr appended to `logPath` and stdin from /dev/null.
 */
export function spawnDetached(
  cmd: string,
  args: readonly string[],
  logPath: string,
  env: Record<string, string> = {},
): ProcRef {
  // sh redirects and then execs, so the recorded pid is the program's own.
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", 'exec "$@" >>"$DAOS_DEMO_LOG" 2>&1', "sh", cmd, ...args],
    env: { ...env, DAOS_DEMO_LOG: logPath },
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  // Reap it if it exits while we are still running (the status is not needed).
  child.status.catch(() => {});
  const st = readProcStat(child.pid);
  if (st === null) throw new Error(`${cmd} exited at once; see ${logPath}`);
  return { pid: child.pid, startTime: st.startTime };
}
