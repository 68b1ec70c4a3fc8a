/**
 * The demo's state file (`<state dir>/state.json`): what was started where, so a later
 * `demo` can tell a running system from a stale one and `demo down` can remove everything.
 * Written atomically (temp file + rename) so a crash never leaves half a file.
 */
import { atomicWrite } from "../../control/lib/atomic_write.ts";
import { readTextIfExists } from "../../control/lib/read_if_exists.ts";
import type { ProcRef } from "./procs.ts";

/** One daos_server of the demo. */
export interface ServerRecord extends ProcRef {
  addr: string;
  configPath: string;
  logPath: string;
}

/** Contents of state.json. */
export interface DemoState {
  version: 1;
  /** Absolute state dir; everything the demo creates is below it. */
  dir: string;
  /** "starting" until the system came up, then "running". */
  phase: "starting" | "running";
  createdAt: string;
  port: number;
  dmgConfig: string;
  servers: ServerRecord[];
}

/** Name of the state file inside the state dir. */
export const STATE_FILE = "state.json";

/** A state file that exists but cannot be used. */
export class BadStateError extends Error {}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isNat(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

/** Checks parsed JSON against DemoState; throws BadStateError naming the bad field. */
export function validateState(v: unknown, where: string): DemoState {
  const bad = (what: string) => new BadStateError(`${where}: ${what}`);
  if (!isObj(v)) throw bad("not a JSON object");
  if (v.version !== 1) throw bad(`unsupported version ${JSON.stringify(v.version)}`);
  if (typeof v.dir !== "string" || !v.dir.startsWith("/")) throw bad("dir must be absolute");
  if (v.phase !== "starting" && v.phase !== "running") throw bad("bad phase");
  if (typeof v.createdAt !== "string") throw bad("createdAt missing");
  if (!isNat(v.port) || v.port === 0 || v.port > 65535) throw bad("bad port");
  if (typeof v.dmgConfig !== "string") throw bad("dmgConfig missing");
  if (!Array.isArray(v.servers)) throw bad("servers must be a list");
  v.servers.forEach((s, i) => {
    const ok = isObj(s) && isNat(s.pid) && s.pid > 0 && isNat(s.startTime) &&
      typeof s.addr === "string" && typeof s.configPath === "string" &&
      typeof s.logPath === "string";
    if (!ok) throw bad(`servers[${i}] needs pid, startTime, addr, configPath, logPath`);
  });
  return v as unknown as DemoState;
}

/** Reads `<dir>/state.json`: null when absent, BadStateError when unreadable as state. */
export async function readState(dir: string): Promise<DemoState | null> {
  const path = `${dir}/${STATE_FILE}`;
  const text = await readTextIfExists(path);
  if (text === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new BadStateError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return validateState(parsed, path);
}

/** Writes the state file atomically. */
export async function writeState(state: DemoState): Promise<void> {
  await atomicWrite(`${state.dir}/${STATE_FILE}`, JSON.stringify(state, null, 2) + "\n");
}
