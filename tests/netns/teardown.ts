/**
 * Removing lab namespaces: kill every process inside (daos_server, engines, etcd, dmg), then
 * delete the namespace, which also deletes its veths and bridge. Also sweeps leftovers of
 * crashed earlier runs.
 */
import { ip } from "./exec.ts";
import { parseLabNsName, parseNetnsList } from "./names.ts";

/** Names of all named network namespaces (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  return parseNetnsList(await ip("netns", "list"));
}

/** Pids of the processes in namespace `ns` (`ip netns pids`). */
export async function namespacePids(ns: string): Promise<number[]> {
  const out = await ip("netns", "pids", ns);
  return out.split("\n").map((l) => l.trim()).filter((l) => /^\d+$/.test(l)).map(Number);
}

function killQuietly(pid: number): void {
  if (pid === Deno.pid) return; // never ourselves (Deno cannot enter a namespace anyway)
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * SIGKILLs every process in `ns` and waits (bounded: 100 polls of 50 ms) until none is left.
 * Returns the pids still alive at the deadline (normally none).
 */
export async function killNamespaceProcesses(ns: string): Promise<number[]> {
  let pids: number[] = [];
  for (let i = 0; i < 100; i++) {
    pids = (await namespacePids(ns).catch(() => [])).filter((p) => p !== Deno.pid);
    if (pids.length === 0) return [];
    pids.forEach(killQuietly);
    await new Promise((r) => setTimeout(r, 50));
  }
  return pids;
}

/**
 * Removes namespaces `names` (those that exist): processes first, then the namespaces. Tries
 * all of them and throws one error listing every failure.
 */
export async function removeNamespaces(names: string[]): Promise<void> {
  const existing = new Set(await listNamespaces());
  const errors: string[] = [];
  // Processes of all namespaces first, so no process keeps a deleted namespace alive.
  for (const ns of names.filter((n) => existing.has(n))) {
    const left = await killNamespaceProcesses(ns);
    if (left.length) errors.push(`${ns}: processes ${left.join(",")} survived SIGKILL`);
  }
  for (const ns of names.filter((n) => existing.has(n))) {
    await ip("netns", "del", ns).catch((e) => errors.push(String(e)));
  }
  if (errors.length) throw new Error(`removing namespaces: ${errors.join("; ")}`);
}

/** Whether process `pid` exists (on this machine's pid namespace). */
export function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes lab namespaces left by runs whose owner process is gone (a crashed test). Labs of
 * live processes (other test runs on this machine) are left alone. Returns the removed names.
 */
export async function removeLeftoverLabs(): Promise<string[]> {
  const stale = (await listNamespaces())
    .map(parseLabNsName)
    .filter((n) => n !== null && n.ownerPid !== Deno.pid && !processAlive(n.ownerPid))
    .map((n) => n!.name);
  if (stale.length) await removeNamespaces(stale);
  return stale;
}
