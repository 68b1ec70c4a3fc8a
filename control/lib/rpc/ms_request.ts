/**
 * Management-Service requests (dmg.md §3.1, server.md §5.3): send to up to 5 candidate hosts
 * in parallel and take the first success (the others are cancelled), follow NotLeader/
 * NotReplica hints once every candidate has answered (a silent one costs at most the
 * transport's connect timeout), retry "not ready yet" answers and per-try timeouts with
 * backoff, all bounded by the caller's deadline.
 */
import { Code } from "@connectrpc/connect";
import { FaultCode, faults, isFault } from "../fault.ts";
import type { AddrCall, HostCall, HostResult, TransportSource } from "./fanout.ts";
import type { ConnContext } from "./conn_errors.ts";
import { formatDuration, hostError } from "./host_error.ts";
import {
  isMsNotReady,
  MsUnavailableError,
  NotLeaderError,
  NotReplicaError,
  remoteCode,
} from "./error_codec.ts";

/** Candidates drawn from the configured host list. */
export const MS_CANDIDATES = 5;
/** Upper bound on tries, whatever the deadline. */
export const MS_MAX_TRIES = 100;
/**
 * Default time allowed for one try. Longer than a leader's slowest legitimate answer (system
 * stop/start fan out to engines for up to 60 s), so a retry never doubles a mutation; dead
 * and stopped hosts are cut much earlier by the transport's connect timeout.
 */
export const MS_TRY_MS = 90_000;

/**
 * No MS host could be reached at all (every candidate refused, unknown, unreachable): the
 * connection fault's text with `: unable to contact the DAOS Management Service`. Not a Fault
 * itself, deliberately: DAOS prints no resolution line here.
 */
export class MsUnreachableError extends Error {
  constructor(connection: Error) {
    super(`${connection.message}: unable to contact the DAOS Management Service`);
    this.name = "MsUnreachableError";
  }
}

/** Options of one MS request. */
export interface MsRequestOptions {
  /** Hosts ("host:port"): the configured list, of which up to 5 are drawn at random. */
  hosts: readonly string[];
  /** The hosts were given explicitly for this request: use all of them, no random draw. */
  explicit?: boolean;
  /** Absolute deadline (ms since the epoch) of the whole request. */
  deadline: number;
  /** Request name for timeout messages ("SystemQuery"). */
  name: string;
  /** Time allowed for one try (default MS_TRY_MS, never past the deadline). */
  perTryMs?: number;
  signal?: AbortSignal;
  /** Random source in [0, 1) for candidate choice and jitter (tests pass a fixed one). */
  random?: () => number;
  /** Waits between tries (tests pass a recorder). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Told, before each retry, what the request is waiting for (see {@link diagnoseMs}), so a
   * caller can show it instead of waiting in silence.
   */
  onWait?: (diagnosis: string) => void;
}

/** Picks min(5, n) distinct hosts at random. */
export function pickCandidates(
  hosts: readonly string[],
  random: () => number = Math.random,
  n = MS_CANDIDATES,
): string[] {
  const pool = [...new Set(hosts)];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, Math.min(n, pool.length));
}

/** Delay before retry number `attempt` (1 = first retry): 0, then 250 ms doubling, capped. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  if (attempt <= 1) return 0;
  const base = 250 * 2 ** (Math.min(attempt, 7) - 2);
  return base + Math.floor(random() * base * 0.25);
}

/** Waits `ms`, or less when `signal` aborts (never rejects). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function isConnectionFault(err: Error): boolean {
  return isFault(err) && err.domain === "client" &&
    err.code >= FaultCode.ClientConnectionBadHost && err.code <= FaultCode.ClientConnectionTimedOut;
}

/** What one round of answers says about the MS, as {@link diagnoseMs} counts it. */
interface MsRound {
  asked: number;
  /** The hosts asked came from a replica list (a NotReplica/NotLeader answer). */
  replicas: boolean;
  unreachable: number;
  notReady: Error[];
  /** NotLeader answers without a leader hint: an election is going on. */
  electing: number;
  timedOut: number;
  /** Some host named a leader or the replicas: routing, not waiting. */
  redirected: boolean;
}

function classify(asked: number, replicas: boolean, errors: readonly Error[]): MsRound {
  return {
    asked,
    replicas,
    unreachable: errors.filter(isConnectionFault).length,
    // Typed answers (error_codec.ts), never their text.
    notReady: errors.filter(isMsNotReady),
    electing: errors.filter((e) => e instanceof NotLeaderError && e.leaderHint === "").length,
    timedOut: errors.filter((e) => isFault(e) && e.code === FaultCode.ClientRpcTimeout).length,
    redirected: errors.some((e) =>
      (e instanceof NotLeaderError && e.leaderHint !== "") ||
      (e instanceof NotReplicaError && e.replicas.length > 0)
    ),
  };
}

/** True when a round says "no MS leader to answer", as opposed to a leader that answered. */
function msUnavailable(r: MsRound): boolean {
  return !r.redirected && r.notReady.length + r.electing + r.unreachable > 0;
}

/**
 * One line on why an MS request is still waiting, e.g. "no MS leader yet: 2 of 3 replicas
 * unreachable, 1 not ready (system is uninitialized (storage format required?))".
 */
function diagnoseMs(r: MsRound, withHead = true): string {
  const of = `of ${r.asked} ${r.replicas ? "replicas" : "hosts asked"}`;
  const parts: string[] = [];
  if (r.unreachable > 0) parts.push(`${r.unreachable} ${of} unreachable`);
  if (r.notReady.length > 0) {
    const why = withHead ? ` (${r.notReady[0].message})` : "";
    parts.push(`${r.notReady.length} ${of} not ready${why}`);
  }
  if (r.electing > 0) parts.push(`${r.electing} ${of} electing a leader`);
  if (r.timedOut > 0) parts.push(`${r.timedOut} ${of} did not answer in time`);
  if (!withHead) return parts.join(", ");
  const head = msUnavailable(r) ? "no MS leader yet" : "no answer from the MS yet";
  return `${head}: ${parts.join(", ") || "retrying"}`;
}

/**
 * Runs one try: `call` on every host at once, until the first success (the other calls are
 * then cancelled) or until every host has answered. Returns the success or the errors in
 * arrival order.
 */
async function runTry<T>(
  hosts: readonly string[],
  callHost: (addr: string, signal: AbortSignal) => Promise<HostResult<T>>,
  signal: AbortSignal | undefined,
): Promise<{ success?: T; errors: Error[] }> {
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  const errors: Error[] = [];
  try {
    return await new Promise((resolve) => {
      let pending = hosts.length;
      if (pending === 0) resolve({ errors });
      for (const addr of hosts) {
        callHost(addr, abort.signal).then((r) => {
          if (r.error === undefined) return resolve({ success: r.response, errors });
          errors.push(r.error);
          if (--pending === 0) resolve({ errors });
        });
      }
    });
  } finally {
    signal?.removeEventListener("abort", onAbort);
    abort.abort(); // the first success wins: stop the calls still running
  }
}

/**
 * Sends one MS request and returns the first successful answer. Throws the server's error, a
 * connection fault wrapped as `<fault>: unable to contact the DAOS Management Service`, or the
 * RPC-timeout fault when the deadline passes.
 */
export function msRequest<T>(
  pool: TransportSource,
  call: HostCall<T>,
  opts: MsRequestOptions,
): Promise<T> {
  return msRequestCalls(pool.connContext, (addr, o) => call(pool.get(addr), o, addr), opts);
}

/**
 * msRequest over any way of calling a host (the Invoker's): `conn` is the caller's transport
 * security, named in connection-error texts.
 */
export async function msRequestCalls<T>(
  conn: ConnContext | undefined,
  call: AddrCall<T>,
  opts: MsRequestOptions,
): Promise<T> {
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? abortableSleep;
  const started = Date.now();
  const original = opts.explicit ? [...new Set(opts.hosts)] : pickCandidates(opts.hosts, random);
  if (original.length === 0) throw faults.ClientConfigEmptyHostList();
  const perTry = opts.perTryMs ?? MS_TRY_MS;

  let hosts = original;
  let following = false;
  let lastErr: Error | undefined;
  let lastRound: MsRound | undefined;
  for (let attempt = 0; attempt < MS_MAX_TRIES; attempt++) {
    if (attempt > 0) await sleep(backoffMs(attempt, random), opts.signal);
    const now = Date.now();
    if (now >= opts.deadline || opts.signal?.aborted) break;
    const tryDeadline = Math.min(opts.deadline, now + perTry);
    const callHost = async (addr: string, signal: AbortSignal): Promise<HostResult<T>> => {
      try {
        const timeoutMs = Math.max(1, tryDeadline - Date.now());
        return { addr, response: await call(addr, { timeoutMs, signal }) };
      } catch (err) {
        const e = hostError(err, addr, opts.name, tryDeadline - started, conn);
        return { addr, error: e };
      }
    };
    const outcome = await runTry(hosts, callHost, opts.signal);
    if (outcome.success !== undefined) return outcome.success;

    const errors = outcome.errors;
    const askedReplicas = following; // before the hints below change it for the next try
    const notLeader = errors.find((e): e is NotLeaderError => e instanceof NotLeaderError);
    const notReplica = errors.find((e): e is NotReplicaError => e instanceof NotReplicaError);
    lastErr = errors[errors.length - 1];
    let next: string[] | undefined;
    if (notLeader) {
      lastErr = notLeader;
      const hinted = notLeader.leaderHint ? [notLeader.leaderHint] : notLeader.replicas;
      following = hinted.length > 0;
      // Election in progress and no replica list: ask the candidates again.
      next = following ? hinted : original;
    } else if (notReplica) {
      lastErr = notReplica;
      if (notReplica.replicas.length > 0) {
        next = notReplica.replicas;
        following = true;
      }
    } else if (errors.some((e) => remoteCode(e) === Code.Unimplemented)) {
      lastErr = errors.find((e) => remoteCode(e) === Code.Unimplemented)!;
    } else if (errors.some(isMsNotReady)) {
      lastErr = errors.find(isMsNotReady)!;
      next = original;
    } else if (errors.every((e) => isFault(e) && e.code === FaultCode.ClientRpcTimeout)) {
      next = hosts; // per-try timeout; the overall deadline is checked at the top
    } else if (following && errors.every(isConnectionFault)) {
      // The hinted leader went away (failover): start again from the configured hosts.
      next = original;
      following = false;
    }
    if (next === undefined) break;
    lastRound = classify(hosts.length, askedReplicas, errors);
    // Following a hint is routing; only a wait for an absent or silent MS is reported.
    if (msUnavailable(lastRound) || (!lastRound.redirected && lastRound.timedOut > 0)) {
      opts.onWait?.(diagnoseMs(lastRound));
    }
    hosts = [...new Set(next)];
  }
  if (lastErr === undefined || Date.now() >= opts.deadline || opts.signal?.aborted) {
    const timeout = faults.ClientRpcTimeout(opts.name, formatDuration(opts.deadline - started));
    if (lastRound && msUnavailable(lastRound) && !opts.signal?.aborted) {
      // The erase-style diagnosis (the MS is not there), not a bare timeout; typed, so that
      // callers see "MS not ready" without reading the text.
      const first = lastRound.notReady.find((e) => e instanceof MsUnavailableError);
      const cause = first ? first.message : "raft service unavailable";
      throw new MsUnavailableError(
        first?.kind ?? "unavailable",
        `${cause}: ${timeout.description}; ${diagnoseMs(lastRound, false)}`,
        "",
        timeout,
      );
    }
    throw timeout;
  }
  if (isConnectionFault(lastErr)) throw new MsUnreachableError(lastErr);
  throw lastErr;
}
