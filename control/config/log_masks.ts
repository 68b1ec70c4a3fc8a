/**
 * Engine log settings (server.md §1.6): `log_mask` syntax (LEVEL[,SUBSYS=LEVEL…]), the debug
 * stream names of `DD_MASK`, the subsystem names of `DD_SUBSYS`, and folding `DD_SUBSYS` into
 * `D_LOG_MASK` the way the reference engine launcher does.
 */

/** Level names accepted in masks (aliases included), lowest to highest priority. */
export const LOG_LEVELS = [
  "DEBUG",
  "DBUG",
  "INFO",
  "NOTE",
  "WARN",
  "ERROR",
  "ERR",
  "CRIT",
  "ALRT",
  "FATAL",
  "EMRG",
  "EMIT",
] as const;

/** Debug stream names accepted in `DD_MASK` (DAOS and GURT streams). */
export const LOG_STREAMS = [
  "ALL",
  "MD",
  "PL",
  "MGMT",
  "EPC",
  "DF",
  "REBUILD",
  "SEC",
  "CSUM",
  "GROUP_DEFAULT",
  "GROUP_METADATA_ONLY",
  "GROUP_METADATA",
  "ANY",
  "TRACE",
  "MEM",
  "NET",
  "IO",
  "TEST",
] as const;

/** Subsystem names accepted in `DD_SUBSYS` and in `SUBSYS=LEVEL` mask entries. */
export const LOG_SUBSYSTEMS = [
  "ALL",
  "DAOS",
  "ARRAY",
  "KV",
  "COMMON",
  "TREE",
  "VOS",
  "CLIENT",
  "SERVER",
  "RDB",
  "RSVC",
  "POOL",
  "CONTAINER",
  "OBJECT",
  "PLACEMENT",
  "REBUILD",
  "MGMT",
  "BIO",
  "TESTS",
  "DFS",
  "DUNS",
  "DRPC",
  "SECURITY",
  "DTX",
  "DFUSE",
  "IL",
  "CSUM",
  "STACK",
  "MISC",
  "MEM",
  "SWIM",
  "FI",
  "TELEM",
  "CRT",
  "RPC",
  "BULK",
  "CORPC",
  "GRP",
  "LM",
  "HG",
  "EXTERNAL",
  "ST",
  "IV",
  "CTL",
] as const;

/** Longest mask string the engine accepts. */
const MAX_LEN = 1023;

// Numeric priority per level name; canonical names are what the engine prints.
const RANK: Record<string, number> = {
  DEBUG: 1,
  DBUG: 1,
  INFO: 2,
  NOTE: 3,
  WARN: 4,
  ERROR: 5,
  ERR: 5,
  CRIT: 6,
  ALRT: 7,
  FATAL: 8,
  EMRG: 8,
  EMIT: 9,
};
const CANONICAL = ["", "DBUG", "INFO", "NOTE", "WARN", "ERR", "CRIT", "ALRT", "EMRG", "EMIT"];
const ERR_RANK = 5;

function levelRank(name: string): number {
  return RANK[name.trim().toUpperCase()] ?? 0;
}

function checkChars(s: string): string | null {
  if (s.length > MAX_LEN) return `longer than ${MAX_LEN} characters`;
  if (!/^[a-zA-Z,=_]+$/.test(s)) return `illegal characters in "${s}" (letters, ',', '=', '_')`;
  return null;
}

function unknownLevel(l: string): string {
  return `unknown log level "${l}", want one of ${LOG_LEVELS.join(", ")}`;
}

/** Checks a comma-separated name list against `valid`; returns the error text or null. */
function checkNames(input: string, valid: readonly string[], what: string): string | null {
  if (input === "") return null;
  const bad = checkChars(input);
  if (bad !== null) return `${what}: ${bad}`;
  const toks = input.split(",");
  for (const t of toks) {
    const u = t.toUpperCase();
    if (!valid.includes(u)) return `${what}: unknown name "${t}", want one of ${valid.join(", ")}`;
    if (u === "ALL" && toks.length !== 1) {
      return `${what}: 'all' can not be used with any other name`;
    }
  }
  return null;
}

/** Validates `log_mask` / `D_LOG_MASK` (LEVEL[,SUBSYS=LEVEL…]); returns the error or null. */
export function logMaskError(mask: string): string | null {
  if (mask === "") return null;
  const bad = checkChars(mask);
  if (bad !== null) return `log mask: ${bad}`;
  for (const [i, tok] of mask.split(",").entries()) {
    if (i === 0 && !tok.includes("=")) {
      if (levelRank(tok) === 0) return unknownLevel(tok);
      continue;
    }
    const parts = tok.split("=");
    if (parts.length !== 2) {
      return `log mask entry ${i} is "${tok}", want SUBSYS=LEVEL after the first comma`;
    }
    const [sub, lvl] = parts;
    if (levelRank(lvl) === 0) return unknownLevel(lvl);
    if (sub.toUpperCase() === "ALL") {
      return "'all' can not be used as a subsystem in log mask level assignments";
    }
    const e = checkNames(sub, LOG_SUBSYSTEMS, "log mask subsystem");
    if (e !== null) return e;
  }
  return null;
}

/** Validates a `DD_MASK` value (debug stream names); returns the error or null. */
export function debugStreamsError(streams: string): string | null {
  return checkNames(streams, LOG_STREAMS, "DD_MASK debug streams");
}

/** Validates a `DD_SUBSYS` value (subsystem names); returns the error or null. */
export function subsystemsError(subsystems: string): string | null {
  return checkNames(subsystems, LOG_SUBSYSTEMS, "DD_SUBSYS subsystems");
}

/**
 * Folds `DD_SUBSYS` into `D_LOG_MASK`: with a subsystem list, only those subsystems may log
 * below ERR. Assignments below ERR for other subsystems are dropped; with a base level below ERR
 * the listed subsystems get it explicitly and the base becomes ERR; assignments equal to the new
 * base are dropped. Inputs must be valid (see logMaskError / subsystemsError).
 */
export function mergeLogSubsystems(mask: string, subsystems: string): string {
  if (mask === "") return "";
  const toks = mask.split(",");
  let base = levelRank(toks[0].includes("=") ? "" : toks[0]);
  if (base === 0) base = ERR_RANK;
  let assigns = toks.filter((t) => t.includes("=")).map((t) => {
    const [subsys, lvl] = t.split("=");
    return { subsys, level: levelRank(lvl) };
  });
  const subs = subsystems.split(",").filter((s) => s !== "" && s.toUpperCase() !== "ALL");
  const render = () =>
    [CANONICAL[base], ...assigns.map((a) => `${a.subsys}=${CANONICAL[a.level]}`)].join(",");
  if (subs.length === 0) return render();
  assigns = assigns.filter((a) => a.level >= ERR_RANK || subs.includes(a.subsys));
  if (base < ERR_RANK) {
    for (const s of subs) {
      if (!assigns.some((a) => a.subsys === s)) assigns.push({ subsys: s, level: base });
    }
    base = ERR_RANK;
  }
  assigns = assigns.filter((a) => a.level !== base);
  return render();
}
