/**
 * One engine instance (one engines[] entry): its run loop (await format → start process →
 * NotifyReady → Join → SetRank → SetUp → Ready), exit handling and the state the control
 * plane reports for it (spec/server.md §2.3, §3.2, §4.1–4.3).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { NilRank } from "../lib/rankset.ts";
import { DaosRespSchema, SetRankReqSchema } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import {
  type JoinReq,
  JoinReqSchema,
  type JoinResp,
  JoinResp_State,
} from "../../proto/gen/ts/mgmt/svc_pb.ts";
import type { NotifyReadyReq } from "../../proto/gen/ts/srv/srv_pb.ts";
import { SerialDrpcClient } from "../drpc/client.ts";
import { DrpcModule, MgmtMethod } from "../drpc/ids.ts";
import { DaosStatusError, errorText, faults } from "../lib/fault.ts";
import { quoteInput } from "../lib/member_fields.ts";
import { localState, type MemberStateValue } from "../lib/states.ts";
import { engineDiedEvent, engineFormatRequiredEvent } from "./events.ts";
import { describeExit } from "./exit_status.ts";
import { pipeLines } from "./line_logger.ts";
import { type HarnessLog, type InstanceStorage, type JoinFn, type NotifyEventFn } from "./types.ts";

/** Everything one instance needs; the harness fills it from the server config. */
export interface InstanceOptions {
  index: number;
  /** Program to run (bin/daos_engine). */
  enginePath: string;
  /** Engine arguments for the given checker mode (see engine_launch.ts). */
  args: (checkMode: boolean) => string[];
  /** The engine's whole environment. */
  env: Record<string, string>;
  storage: InstanceStorage;
  join: JoinFn;
  notifyEvent: NotifyEventFn;
  log: HarnessLog;
  systemName: string;
  /** This server's control address for JoinReq.addr, e.g. "127.0.0.1:10001". */
  controlAddr: string;
  /** Host fault domain, e.g. "/host1"; kept in the superblock and sent in Join. */
  faultDomain: string;
  hostname: string;
  /** True on the bootstrap MS replica: its instance 0 asks for rank 0 when it has none. */
  bootstrapReplica: boolean;
  /** Deadline of each SetRank/SetUp/PrepShutdown dRPC. Default 10 s. */
  drpcTimeoutMs?: number;
  /**
   * The server's socket_dir, where the engine binds daos_engine_<pid>.sock; when set, a
   * NotifyReady must name exactly that path.
   */
  socketDir?: string;
  /** Called whenever the instance becomes Ready. */
  onReady?: (index: number, rank: number) => void;
  /**
   * How long a start-up step that failed locally (superblock write, SetRank, SetUp) is retried
   * while the engine runs, e.g. until a full SCM has space again. Default 10 minutes.
   */
  startupRetryMs?: number;
}

/** Longest engine stderr line kept as an exit cause. */
const MAX_CAUSE_CHARS = 512;

/** Default bound of start-up retries (InstanceOptions.startupRetryMs). */
export const STARTUP_RETRY_MS = 600_000;
const STARTUP_RETRY_FIRST_MS = 250;
const STARTUP_RETRY_MAX_DELAY_MS = 5_000;

/**
 * A start-up failure not worth retrying on the same process: the MS answered the join (the
 * join function retries what is transient itself), so only a new start can change the outcome.
 */
class JoinRefused extends Error {
  readonly refused = true;
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "JoinRefused";
  }
}

/** A snapshot of an instance for reports and tests. */
export interface InstanceInfo {
  index: number;
  rank: number | null;
  state: MemberStateValue;
  pid: number | null;
  incarnation: bigint;
  lastExitStatus: string | null;
  lastError: string | null;
}

/** The dRPC socket an engine of pid `pid` binds in socketDir (undefined without a dir). */
function engineSocketPath(socketDir: string | undefined, pid: number): string | undefined {
  return socketDir === undefined ? undefined : normPath(`${socketDir}/daos_engine_${pid}.sock`);
}

/** A path with repeated slashes collapsed (the engine joins "<socket_dir>/<name>" as given). */
function normPath(p: string): string {
  return p.replace(/\/+/g, "/");
}

/** One supervised engine. Create, then start(); shutdown() when the server stops. */
export class EngineInstance {
  readonly index: number;
  readonly drpc: SerialDrpcClient;
  #o: InstanceOptions;
  #child: Deno.ChildProcess | undefined;
  #ready = false;
  #awaitingFormat = false;
  #busy = false; // inside a start attempt (format wait, spawn, process lifetime)
  #startPending = false;
  #restartAfterExit = false;
  #expectExit = false;
  #checkMode = false;
  #rank: number | null = null;
  #incarnation = 0n;
  #drpcSocket: string | undefined;
  #lastExit: string | null = null;
  #lastErr: Error | null = null;
  #joiningFor: Deno.ChildProcess | undefined; // the process whose start-up is in progress
  #startupFailed: Deno.ChildProcess | undefined; // the process whose start-up gave up
  #attempts = 0;
  #startupFailures = 0; // failed start-up attempts (join, SetRank, SetUp), retried ones too
  #retrying: Deno.ChildProcess | undefined; // the process whose failed start-up is retried
  #notifiedFor: Deno.ChildProcess | undefined; // the process whose NotifyReady was taken
  #wake: (() => void) | undefined;
  #listeners = new Set<() => void>();
  #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(opts: InstanceOptions) {
    this.#o = opts;
    this.index = opts.index;
    this.drpc = new SerialDrpcClient(() => this.#drpcSocket);
  }

  /** Starts the run loop with one start request queued (idempotent). */
  start(): void {
    if (this.#loop) return;
    this.#startPending = true;
    this.#loop = this.#run();
  }

  /**
   * Asks for the engine to be started. While a start is in progress this is a no-op; while the
   * process runs, a restart is remembered and done after it exits.
   */
  requestStart(): void {
    if (this.#busy) {
      if (this.#child) this.#restartAfterExit = true;
      return;
    }
    this.#startPending = true;
    this.#wake?.();
  }

  /** Sets the checker mode used for the next start (-C). */
  setCheckMode(on: boolean): void {
    this.#checkMode = on;
  }

  /** Local state: Ready, Starting, AwaitFormat or Stopped (§4.1). */
  localState(): MemberStateValue {
    return localState({
      ready: this.#ready,
      running: this.#child !== undefined,
      awaitingFormat: this.#awaitingFormat,
    });
  }

  /** True while the engine process runs. */
  isStarted(): boolean {
    return this.#child !== undefined;
  }

  /** True when Ready (joined, SetRank and SetUp done, process running). */
  isReady(): boolean {
    return this.#ready && this.#child !== undefined;
  }

  /** True while waiting for storage format. */
  isAwaitingFormat(): boolean {
    return this.#awaitingFormat;
  }

  /** How many start attempts began so far (to tell a new start from an earlier one). */
  startAttempts(): number {
    return this.#attempts;
  }

  /** How many start-up attempts (join, SetRank, SetUp) failed so far, retried ones included. */
  startupFailures(): number {
    return this.#startupFailures;
  }

  /** True while a failed start-up step of the running engine waits for its next retry. */
  isRetryingStartup(): boolean {
    return this.#child !== undefined && this.#retrying === this.#child;
  }

  /** True while a start is queued or in progress (format wait, spawn, process lifetime). */
  isStartPending(): boolean {
    return this.#busy || this.#startPending;
  }

  /**
   * True when the running engine's start-up (join, SetRank, SetUp) failed for good: it runs,
   * not ready, until stopped or restarted (§4.2). Retried failures do not count until given up.
   */
  startupFailed(): boolean {
    return this.#child !== undefined && this.#startupFailed === this.#child;
  }

  /**
   * Restarts an engine whose start-up failed (the only way out of "running but not ready"):
   * SIGTERM, then a start once it exited. Returns false when there is no such engine.
   */
  restartFailedStartup(): boolean {
    if (!this.startupFailed()) return false;
    this.#o.log.info(`instance ${this.index}: restarting the engine whose start-up failed`);
    this.stop("SIGTERM");
    this.#restartAfterExit = true;
    return true;
  }

  /** The instance's rank (from its superblock or last join), null when it has none. */
  rank(): number | null {
    return this.#rank;
  }

  /** A snapshot for reports. */
  info(): InstanceInfo {
    return {
      index: this.index,
      rank: this.#rank,
      state: this.localState(),
      pid: this.#child?.pid ?? null,
      incarnation: this.#incarnation,
      lastExitStatus: this.#lastExit,
      lastError: this.#lastErr?.message ?? null,
    };
  }

  /** Loads the rank from the superblock (so ranks can be targeted before the first start). */
  async loadRank(): Promise<void> {
    const sb = await this.#o.storage.superblock.read();
    this.#rank = sb?.validRank ? sb.rank : null;
  }

  /**
   * Sends sig to the engine as part of a controlled stop (no engine_died event for the exit).
   * Returns false when no process runs.
   */
  stop(sig: Deno.Signal): boolean {
    const child = this.#child;
    if (!child) return false;
    this.#expectExit = true;
    this.#restartAfterExit = false;
    try {
      child.kill(sig);
    } catch { /* exited meanwhile */ }
    return true;
  }

  /** Removes the superblock (reset format). Refuses while the engine runs. */
  async removeSuperblock(): Promise<void> {
    if (this.isStarted()) throw new Error(`instance ${this.index} is running`);
    await this.#o.storage.superblock.remove();
  }

  /**
   * Reset format of this instance's storage: superblock removed, then the storage erased (ram
   * SCM unmounted), so the next start waits for format. Refuses while the engine runs.
   */
  async eraseStorage(): Promise<void> {
    await this.removeSuperblock();
    await this.#o.storage.erase?.();
  }

  /**
   * Resolves true as soon as pred() holds, false after timeoutMs. Re-evaluated on every state
   * change of this instance, not by polling.
   */
  waitFor(pred: (i: EngineInstance) => boolean, timeoutMs: number): Promise<boolean> {
    if (pred(this)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!pred(this)) return;
        done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (v: boolean) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        resolve(v);
      };
      this.#listeners.add(check);
    });
  }

  /** Calls a mgmt-module method on this engine (serialised), returning the response body. */
  async callMgmt(method: number, body: Uint8Array, timeoutMs?: number): Promise<Uint8Array> {
    if (!this.isStarted()) throw faults.ServerDataPlaneNotStarted();
    return await this.drpc.call(DrpcModule.MGMT, method, body, {
      timeoutMs: timeoutMs ?? this.#o.drpcTimeoutMs ?? 10_000,
    });
  }

  /** Stops the run loop and SIGKILLs the engine (server shutdown, §4.2). */
  async shutdown(): Promise<void> {
    this.#abort.abort(new Error("harness shut down"));
    this.stop("SIGKILL");
    this.#wake?.();
    await this.#loop;
  }

  /**
   * Handles the engine's NotifyReady: record its socket and incarnation, join, SetRank,
   * SetUp → Ready. Failures are logged; the process keeps running, not ready (§4.2).
   */
  async handleNotifyReady(req: NotifyReadyReq): Promise<void> {
    const child = this.#child;
    const log = this.#o.log;
    if (!child) {
      log.error(`instance ${this.index}: NotifyReady while no engine runs; ignored`);
      return;
    }
    // The engine binds <socket_dir>/daos_engine_<pid>.sock; any other path is not our engine
    // (another engine's socket, daos_server.sock itself, a foreign socket), and taking it
    // would send SetRank there and remove that file when the engine exits.
    const own = engineSocketPath(this.#o.socketDir, child.pid);
    const m = /(?:^|\/)daos_engine_(\d+)\.sock$/.exec(req.drpcListenerSock);
    if (
      m === null || Number(m[1]) !== child.pid ||
      (own !== undefined && normPath(req.drpcListenerSock) !== own)
    ) {
      log.error(
        `instance ${this.index}: NotifyReady names dRPC socket ` +
          `${quoteInput(req.drpcListenerSock)}, but the engine (pid ${child.pid}) listens on ` +
          `${own ?? `daos_engine_${child.pid}.sock`}; ignored`,
      );
      return;
    }
    if (this.#joiningFor === child) {
      // The engine re-sent NotifyReady (its reply was lost); one start-up per process.
      log.debug(`instance ${this.index}: NotifyReady repeated while joining; ignored`);
      return;
    }
    if (this.#notifiedFor === child) {
      // An engine sends NotifyReady once; a second one after its start-up (with another URI
      // or incarnation) would unready a working rank and re-join it.
      log.error(
        `instance ${this.index}: NotifyReady repeated after start-up of pid ${child.pid}; ignored`,
      );
      return;
    }
    this.#notifiedFor = child;
    this.#joiningFor = child;
    this.#drpcSocket = req.drpcListenerSock;
    this.#ready = false;
    try {
      await this.#startUp(req, child);
    } finally {
      if (this.#joiningFor === child) this.#joiningFor = undefined;
    }
    this.#changed();
  }

  /**
   * Join and set up the engine; a step that failed locally (e.g. ENOSPC writing the superblock)
   * is retried with backoff for startupRetryMs while this process runs, so the engine recovers
   * by itself once the cause is gone. A refused join or the bound ends it: then the engine is
   * left running but not ready (§4.2) with the cause in lastError.
   */
  async #startUp(req: NotifyReadyReq, child: Deno.ChildProcess): Promise<void> {
    const log = this.#o.log;
    const until = Date.now() + (this.#o.startupRetryMs ?? STARTUP_RETRY_MS);
    let delay = STARTUP_RETRY_FIRST_MS;
    let said = "";
    for (let attempt = 1;; attempt++) {
      try {
        await this.#joinAndSetUp(req, child);
        return;
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        this.#lastErr = err;
        this.#startupFailures++;
        const gone = this.#child !== child || this.#abort.signal.aborted;
        const giveUp = err instanceof JoinRefused || Date.now() + delay > until;
        this.#retrying = gone || giveUp ? undefined : child;
        if (!gone && giveUp) this.#startupFailed = child;
        this.#changed();
        if (gone) return;
        if (giveUp) {
          log.error(
            `instance ${this.index}: start-up failed, engine left running but not ready: ` +
              err.message,
          );
          return;
        }
        // The same failure every few seconds for minutes: said once, then only at debug level.
        const text = `instance ${this.index}: start-up attempt ${attempt} failed, retrying in ` +
          `${delay} ms: ${err.message}`;
        if (err.message !== said) log.error(text);
        else log.debug(text);
        said = err.message;
      }
      await this.#sleepWhileRunning(child, delay);
      this.#retrying = undefined;
      if (this.#child !== child || this.#abort.signal.aborted) return;
      delay = Math.min(delay * 2, STARTUP_RETRY_MAX_DELAY_MS);
    }
  }

  /** Sleeps ms, returning early when child exits or the harness shuts down. */
  async #sleepWhileRunning(child: Deno.ChildProcess, ms: number): Promise<void> {
    await this.waitFor((i) => i.#child !== child || i.#abort.signal.aborted, ms);
  }

  async #joinAndSetUp(req: NotifyReadyReq, child: Deno.ChildProcess): Promise<void> {
    const o = this.#o;
    const store = o.storage.superblock;
    const sb = await store.read();
    if (sb === null) throw new Error(`instance ${this.index}: superblock missing at NotifyReady`);
    sb.incarnation = req.incarnation;
    if (o.faultDomain !== "") sb.hostFaultDomain = o.faultDomain;
    await store.write(sb);
    this.#incarnation = req.incarnation;

    let rank = sb.validRank && sb.rank !== null ? sb.rank : NilRank;
    if (rank === NilRank && o.bootstrapReplica && this.index === 0) rank = 0;
    const resp = await this.#join(create(JoinReqSchema, {
      sys: o.systemName,
      uuid: sb.uuid,
      rank,
      uri: req.uri,
      nctxs: req.nctxs,
      addr: o.controlAddr,
      srvFaultDomain: sb.hostFaultDomain,
      idx: this.index,
      incarnation: req.incarnation,
      secondaryUris: req.secondaryUris,
      secondaryNctxs: req.secondaryNctxs,
      checkMode: this.#checkMode,
    }));
    if (this.#child !== child) return; // exited while joining
    if (resp.state === JoinResp_State.OUT) {
      throw new JoinRefused(new Error(`rank ${resp.rank} excluded`));
    }
    if (resp.state === JoinResp_State.CHECK && !this.#checkMode) {
      o.log.info(`instance ${this.index}: system checker running, restarting in check mode`);
      this.#checkMode = true;
      this.stop("SIGTERM");
      this.#restartAfterExit = true;
      return;
    }
    if (!sb.validRank || sb.rank !== resp.rank || sb.uri !== req.uri) {
      await store.write({ ...sb, rank: resp.rank, validRank: true, uri: req.uri });
    }
    this.#rank = resp.rank;
    if (!resp.localJoin) {
      await this.#expectOk(
        MgmtMethod.SET_RANK,
        toBinary(
          SetRankReqSchema,
          create(SetRankReqSchema, { rank: resp.rank, mapVersion: resp.mapVersion }),
        ),
      );
      await this.#expectOk(MgmtMethod.SET_UP, new Uint8Array(0));
    }
    if (this.#child !== child) return;
    this.#ready = true;
    this.#lastErr = null;
    o.log.info(
      `instance ${this.index}: rank ${resp.rank} ready (pid ${child.pid}, ` +
        `incarnation ${req.incarnation})`,
    );
    o.onReady?.(this.index, resp.rank);
  }

  /**
   * The join; its failure is a refusal (the join function retried what was transient). While
   * it retries, why it does is the instance's last error (a start waiting for it reports it).
   */
  async #join(req: JoinReq): Promise<JoinResp> {
    try {
      return await this.#o.join(req, (e) => {
        this.#lastErr = new Error(`join: ${errorText(e)} (retrying)`);
      });
    } catch (e) {
      throw new JoinRefused(e);
    }
  }

  /** Calls a mgmt method whose reply is DaosResp; throws on a non-zero status. */
  async #expectOk(method: number, body: Uint8Array): Promise<void> {
    const resp = fromBinary(DaosRespSchema, await this.callMgmt(method, body));
    if (resp.status !== 0) throw new DaosStatusError(resp.status);
  }

  #changed(): void {
    for (const l of [...this.#listeners]) l();
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      if (!this.#startPending) {
        await new Promise<void>((r) => this.#wake = r);
        this.#wake = undefined;
        continue;
      }
      this.#startPending = false;
      this.#busy = true;
      this.#attempts++;
      try {
        await this.#startOnce(signal);
      } catch (e) {
        if (!signal.aborted) {
          this.#lastErr = e instanceof Error ? e : new Error(String(e));
          this.#o.log.error(`instance ${this.index}: start failed: ${this.#lastErr.message}`);
        }
      } finally {
        this.#busy = false;
        this.#changed();
      }
      if (this.#restartAfterExit && !signal.aborted) {
        this.#restartAfterExit = false;
        this.#startPending = true;
      }
    }
  }

  async #startOnce(signal: AbortSignal): Promise<void> {
    const o = this.#o;
    if (await o.storage.needsFormat()) {
      this.#awaitingFormat = true;
      this.#changed();
      o.log.info(`SCM format required on instance ${this.index}`);
      o.notifyEvent(engineFormatRequiredEvent(o.hostname, this.index));
      try {
        await o.storage.awaitFormat(signal);
      } finally {
        this.#awaitingFormat = false;
      }
    }
    if (signal.aborted) return;
    const sb = await o.storage.superblock.read();
    if (sb === null) throw new Error(`no superblock for instance ${this.index} after format`);
    this.#rank = sb.validRank ? sb.rank : null;
    this.#incarnation = sb.incarnation;

    const child = new Deno.Command(o.enginePath, {
      args: o.args(this.#checkMode),
      env: o.env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#expectExit = false;
    this.#lastErr = null;
    o.log.info(`instance ${this.index}: started daos_engine, pid ${child.pid}`);
    this.#changed();
    const prefix = `daos_engine:${this.index}`;
    // The engine's last word on stderr (e.g. "daos_engine: <why it stopped>") is the cause
    // reported with its exit, not only a line in the control log.
    let lastStderr = "";
    const output = Promise.all([
      pipeLines(child.stdout, prefix, (l) => o.log.info(l)),
      pipeLines(child.stderr, prefix, (l) => {
        o.log.error(l);
        const text = l.slice(prefix.length + 1).trim();
        if (text !== "") lastStderr = text.slice(0, MAX_CAUSE_CHARS);
      }),
    ]);
    const status = await child.status;
    await output;
    this.#onExit(child, status, lastStderr);
  }

  #onExit(child: Deno.ChildProcess, status: Deno.CommandStatus, lastStderr: string): void {
    const o = this.#o;
    const text = describeExit(status);
    const rankText = this.#rank === null ? "NilRank" : String(this.#rank);
    const msg = `instance ${this.index}, pid ${child.pid}, rank ${rankText} exited with status: ` +
      text;
    if (this.#expectExit) o.log.info(msg);
    else o.log.error(msg);
    const sock = this.#drpcSocket;
    this.#child = undefined;
    this.#ready = false;
    this.#drpcSocket = undefined;
    this.#lastExit = text;
    const why = !status.success && lastStderr !== "" ? ` (${lastStderr})` : "";
    this.#lastErr = new Error(`instance ${this.index} exited: ${text}${why}`);
    if (sock !== undefined) Deno.remove(sock).catch(() => {}); // the engine may have done it
    // A killed engine leaves its telemetry tree behind; the engine is gone, so the tree is stale.
    const tmDir = o.env.DAOS_TM_DIR;
    if (tmDir !== undefined && tmDir !== "") {
      Deno.remove(`${tmDir}/daos_tm_${o.systemName}_${this.index}`).catch(() => {});
    }
    if (!this.#expectExit) {
      o.notifyEvent(engineDiedEvent({
        hostname: o.hostname,
        instance: this.index,
        rank: this.#rank,
        incarnation: this.#incarnation,
        exitStatus: text,
        exitCode: status.code,
        pid: child.pid,
      }));
    }
    this.#expectExit = false;
    // Not busy any more: a start requested by someone woken below must not be dropped.
    this.#busy = false;
    this.#changed();
  }
}
