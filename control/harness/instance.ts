/**
 * One engine instance (one engines[] entry): its run loop (await format → start process →
 * NotifyReady → Join → SetRank → SetUp → Ready), exit handling and the state the control
 * plane reports for it (spec/server.md §2.3, §3.2, §4.1–4.3).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DaosRespSchema, SetRankReqSchema } from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { JoinReqSchema, JoinResp_State } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import type { NotifyReadyReq } from "../../proto/gen/ts/srv/srv_pb.ts";
import { SerialDrpcClient } from "../drpc/client.ts";
import { DrpcModule, MgmtMethod } from "../drpc/ids.ts";
import { DaosStatusError, faults } from "../lib/fault.ts";
import { quoteInput } from "../lib/member_fields.ts";
import { localState, type MemberStateValue } from "../lib/states.ts";
import { engineDiedEvent, engineFormatRequiredEvent } from "./events.ts";
import { describeExit } from "./exit_status.ts";
import { pipeLines } from "./line_logger.ts";
import {
  type HarnessLog,
  type InstanceStorage,
  type JoinFn,
  NIL_RANK,
  type NotifyEventFn,
} from "./types.ts";

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
      await this.#joinAndSetUp(req, child);
    } catch (e) {
      this.#lastErr = e instanceof Error ? e : new Error(String(e));
      log.error(
        `instance ${this.index}: start-up failed, engine left running but not ready: ` +
          this.#lastErr.message,
      );
    } finally {
      if (this.#joiningFor === child) this.#joiningFor = undefined;
    }
    this.#changed();
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

    let rank = sb.validRank && sb.rank !== null ? sb.rank : NIL_RANK;
    if (rank === NIL_RANK && o.bootstrapReplica && this.index === 0) rank = 0;
    const resp = await o.join(create(JoinReqSchema, {
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
    if (resp.state === JoinResp_State.OUT) throw new Error(`rank ${resp.rank} excluded`);
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
    const output = Promise.all([
      pipeLines(child.stdout, prefix, (l) => o.log.info(l)),
      pipeLines(child.stderr, prefix, (l) => o.log.error(l)),
    ]);
    const status = await child.status;
    await output;
    this.#onExit(child, status);
  }

  #onExit(child: Deno.ChildProcess, status: Deno.CommandStatus): void {
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
    this.#lastErr = new Error(`instance ${this.index} exited: ${text}`);
    if (sock !== undefined) Deno.remove(sock).catch(() => {}); // the engine may have done it
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
