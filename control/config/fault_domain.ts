/**
 * The host's fault domain (server.md §1.9): `fault_path`, else the output of the `fault_cb`
 * script, else `/<hostname>`. Also the fault path syntax rules shared with offline validation.
 */
import { type Fault, FaultCode, makeFault } from "../lib/fault.ts";

/** A fault path rule violation. */
export interface FaultPathProblem {
  code: number;
  message: string;
  resolution: string;
}

/** Checks a fault domain path (1 or 2 levels, labels on every level or none); null when valid. */
export function faultPathProblem(fp: string): FaultPathProblem | null {
  if (!fp.startsWith("/") || fp === "/") {
    return {
      code: FaultCode.ServerConfigFaultDomainInvalid,
      message: `invalid fault domain "${fp}"`,
      resolution: "use a path such as /rack1/host1",
    };
  }
  const levels = fp.slice(1).split("/").map(normalizeLevel);
  if (levels.length > 2) {
    return {
      code: FaultCode.ServerConfigFaultDomainTooManyLayers,
      message: "the fault domain path may have a maximum of 2 levels below the root",
      resolution: "shorten the fault domain to at most /level1/level2",
    };
  }
  const labelled = levels.filter((l) => l.includes("=")).length;
  const bad = levels.some((l) => {
    if (l === "") return true;
    const parts = l.split("=");
    return parts.length > 2 || parts.some((x) => x === "");
  });
  if (bad || (labelled > 0 && labelled !== levels.length)) {
    return {
      code: FaultCode.ServerConfigFaultDomainInvalid,
      message: `invalid fault domain "${fp}"`,
      resolution: "use non-empty levels, with label=value on every level or none",
    };
  }
  return null;
}

// Levels are trimmed, unquoted and lower-cased.
function normalizeLevel(l: string): string {
  return l.trim().replace(/^["']|["']$/g, "").toLowerCase();
}

/** Normalizes a valid fault path (levels trimmed, unquoted, lower-cased). */
export function normalizeFaultPath(fp: string): string {
  return "/" + fp.slice(1).split("/").map(normalizeLevel).join("/");
}

/** Longest the callback may run before it counts as failed. */
export const FAULT_CB_TIMEOUT_MS = 10_000;

const CB_RESOLUTION =
  "specify a valid fault domain callback script ('fault_cb' parameter) and restart the control server";

function cbFault(code: number, description: string, resolution = CB_RESOLUTION): Fault {
  return makeFault(code, description, resolution);
}

/** A fault_cb problem: code, description and resolution (server.md §1.9). */
export interface FaultCallbackProblem {
  code: number;
  description: string;
  resolution: string;
}

/**
 * Checks `fault_cb` from its lstat result (null: missing) the way the server requires before
 * running it: it must exist (718), be a regular file that is not setuid nor group/other-writable
 * (719) and be executable (720). Returns null when it may be run.
 */
export function faultCallbackProblem(
  path: string,
  st: Pick<Deno.FileInfo, "isFile" | "mode"> | null,
): FaultCallbackProblem | null {
  if (st === null) {
    return {
      code: FaultCode.ServerConfigFaultCallbackNotFound,
      description: `fault domain callback script not found: "${path}"`,
      resolution: CB_RESOLUTION,
    };
  }
  const mode = st.mode ?? 0;
  if (!st.isFile || (mode & 0o4000) !== 0 || (mode & 0o022) !== 0) {
    return {
      code: FaultCode.ServerConfigFaultCallbackInsecure,
      description: `fault domain callback script "${path}" does not meet security requirements`,
      resolution: "ensure that the 'fault_cb' path is not a symbolic link, does not have the " +
        "setuid bit set, and does not have write permissions for non-owners",
    };
  }
  if ((mode & 0o111) === 0) {
    return {
      code: FaultCode.ServerConfigFaultCallbackBadPerms,
      description: `fault domain callback "${path}" cannot be executed`,
      resolution: "ensure that permissions for the DAOS server user are properly set on the " +
        "fault domain callback script ('fault_cb' parameter) and restart the control server",
    };
  }
  return null;
}

/** Throws the fault of {@link faultCallbackProblem}, if any. */
export async function checkFaultCallback(path: string): Promise<void> {
  const p = faultCallbackProblem(path, await Deno.lstat(path).catch(() => null));
  if (p) throw cbFault(p.code, p.description, p.resolution);
}

/**
 * Runs `fault_cb` and returns its trimmed stdout as a fault path: failure or timeout → 721,
 * no output → 723, an invalid path → 717/724.
 */
export async function runFaultCallback(
  path: string,
  timeoutMs = FAULT_CB_TIMEOUT_MS,
): Promise<string> {
  await checkFaultCallback(path);
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(path, {
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
  } catch (e) {
    throw cbFault(
      FaultCode.ServerConfigFaultCallbackFailed,
      `fault domain callback script failed during execution: ${(e as Error).message}`,
    );
  }
  const dec = new TextDecoder();
  if (!out.success) {
    const why = out.signal !== null
      ? `killed by ${out.signal}${out.signal === "SIGTERM" ? ` (over ${timeoutMs} ms?)` : ""}`
      : `exit status ${out.code}`;
    const err = dec.decode(out.stderr).trim();
    throw cbFault(
      FaultCode.ServerConfigFaultCallbackFailed,
      `fault domain callback script failed during execution: ${why}${err ? `: ${err}` : ""}`,
    );
  }
  const fp = dec.decode(out.stdout).trim();
  if (fp === "") {
    throw cbFault(
      FaultCode.ServerConfigFaultCallbackEmpty,
      `fault domain callback "${path}" executed but did not generate output`,
    );
  }
  const bad = faultPathProblem(fp);
  if (bad !== null) {
    throw cbFault(bad.code, `fault_cb "${path}" printed ${bad.message}`, bad.resolution);
  }
  return normalizeFaultPath(fp);
}

/** The host's fault domain: fault_path, else fault_cb's output, else `/<hostname>`. */
export async function hostFaultDomain(
  cfg: { faultPath: string; faultCb: string },
  hostname: string,
): Promise<string> {
  if (cfg.faultPath !== "") return normalizeFaultPath(cfg.faultPath);
  if (cfg.faultCb !== "") return await runFaultCallback(cfg.faultCb);
  return `/${hostname}`;
}
