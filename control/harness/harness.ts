/**
 * The engine harness: the set of local engine instances, the glue from daos_server.sock
 * up-calls to them, and server shutdown (spec/server.md §4).
 */
import type { ClusterEventReq } from "../../proto/gen/ts/shared/event_pb.ts";
import type { NotifyReadyReq } from "../../proto/gen/ts/srv/srv_pb.ts";
import type { SrvModuleDeps } from "../drpc/srv_module.ts";
import { DrpcStatusError, DrpcTimeoutError } from "../drpc/client.ts";
import { errorText, faults, isFault } from "../lib/fault.ts";
import { AutoRestarter } from "./auto_restart.ts";
import { GroupMapRelay } from "./group_map_relay.ts";
import { RasId } from "./events.ts";
import { EngineInstance, type InstanceInfo, type InstanceOptions } from "./instance.ts";
import type { HarnessLog } from "./types.ts";

/** Ranks to act on: a list, or a set with contains() such as control/lib/rankset's RankSet. */
export type RankFilter = Iterable<number> | { contains(rank: number): boolean };

function rankPredicate(ranks: RankFilter): (rank: number) => boolean {
  if ("contains" in ranks && typeof ranks.contains === "function") {
    return (r) => ranks.contains(r);
  }
  const set = new Set(ranks as Iterable<number>);
  return (r) => set.has(r);
}

/** The harness's options: one InstanceOptions per engines[] entry, plus shared bits. */
export interface HarnessOptions {
  instances: InstanceOptions[];
  log: HarnessLog;
  /** This server's control address, reported in RankResult.addr. */
  controlAddr: string;
  /** Engine up-call events (ClusterEvent over dRPC); returns the status for the engine. */
  onClusterEvent?: (req: ClusterEventReq) => Promise<number> | number;
  /** disable_engine_auto_restart / engine_auto_restart_min_delay (§4.4). */
  autoRestart?: { disabled: boolean; minDelaySec: number };
  /**
   * Erases the host-wide storage (the control_metadata device) once every local engine was
   * reset-formatted and stopped (ResetFormatRanks).
   */
  eraseHostStorage?: () => Promise<void>;
}

/** Supervises the local engines. */
export class EngineHarness {
  readonly instances: EngineInstance[];
  readonly controlAddr: string;
  /** The newest system group map of this host, forwarded to the ready engines (CtlSvc). */
  readonly groupMap: GroupMapRelay;
  #log: HarnessLog;
  #onClusterEvent: HarnessOptions["onClusterEvent"];
  #eraseHost: HarnessOptions["eraseHostStorage"];
  #started = false;
  #restarter: AutoRestarter;

  constructor(opts: HarnessOptions) {
    opts.instances.forEach((o, i) => {
      if (o.index !== i) throw new Error(`engine instance ${i} has index ${o.index}`);
    });
    // An engine that becomes ready also gets the newest group map (it missed the update that
    // announced it while it was still joining).
    this.instances = opts.instances.map((o) =>
      new EngineInstance({
        ...o,
        onReady: (index, rank) => {
          o.onReady?.(index, rank);
          this.groupMap.onReady(this.instances[index]).catch(() => {});
        },
      })
    );
    this.controlAddr = opts.controlAddr;
    this.groupMap = new GroupMapRelay(() => this.instances, opts.controlAddr, opts.log);
    this.#log = opts.log;
    this.#onClusterEvent = opts.onClusterEvent;
    this.#eraseHost = opts.eraseHostStorage;
    this.#restarter = new AutoRestarter({
      disabled: opts.autoRestart?.disabled ?? false,
      minDelaySec: opts.autoRestart?.minDelaySec ?? 0,
      restart: (rank) => {
        const inst = this.instanceByRank(rank);
        if (!inst) return;
        this.#log.info(`restarting self-terminated rank ${rank} (instance ${inst.index})`);
        inst.requestStart();
      },
    });
  }

  /** Loads ranks from superblocks and starts every instance's run loop. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await Promise.all(this.instances.map((i) => i.loadRank().catch(() => {})));
    for (const i of this.instances) i.start();
  }

  /** True once start() ran (CtlSvc calls before that get fault 610). */
  isStarted(): boolean {
    return this.#started;
  }

  /** Routes an engine's NotifyReady to its instance. */
  async handleNotifyReady(req: NotifyReadyReq): Promise<void> {
    const inst = this.instances[req.instanceIdx];
    if (!inst) throw new Error(`NotifyReady for unknown instance ${req.instanceIdx}`);
    await inst.handleNotifyReady(req);
  }

  /** The dependencies the srv dRPC module needs, bound to this harness. */
  srvModuleDeps(): SrvModuleDeps {
    return {
      instanceCount: () => this.instances.length,
      onNotifyReady: (req) => this.handleNotifyReady(req),
      onClusterEvent: (req) => this.handleClusterEvent(req),
      log: this.#log,
    };
  }

  /**
   * Handles a RAS event raised by a local engine: a self-terminated local rank is restarted
   * (rate-limited, §4.4); every event is then passed on to onClusterEvent.
   */
  async handleClusterEvent(req: ClusterEventReq): Promise<number> {
    const ev = req.event;
    if (ev?.id === RasId.ENGINE_SELF_TERMINATED && this.instanceByRank(ev.rank)) {
      this.#restarter.onSelfTerminated(ev.rank);
    }
    return (await this.#onClusterEvent?.(req)) ?? 0;
  }

  /** Erases host-wide storage (control metadata); no-op without one configured. */
  async eraseHostStorage(): Promise<void> {
    await this.#eraseHost?.();
  }

  /** Forgets auto-restart history of ranks (manual stop/start, §4.4). */
  clearRestartHistory(ranks: Iterable<number>): void {
    for (const r of ranks) this.#restarter.clearHistory(r);
  }

  /**
   * Instances whose rank is in ranks, in instance order. ranks may be a list or anything with
   * contains() (a RankSet), so a huge range is never expanded.
   */
  instancesByRanks(ranks: RankFilter): EngineInstance[] {
    const has = rankPredicate(ranks);
    return this.instances.filter((i) => {
      const r = i.rank();
      return r !== null && has(r);
    });
  }

  /** Index of the local instance holding rank, or undefined. */
  instanceByRank(rank: number): EngineInstance | undefined {
    return this.instances.find((i) => i.rank() === rank);
  }

  /** A snapshot of every instance (the local state report). */
  report(): InstanceInfo[] {
    return this.instances.map((i) => i.info());
  }

  /**
   * Calls a mgmt method on the first ready instance that accepts it (§4.2: transient errors
   * move on to the next instance). Throws fault 611 when none is ready.
   */
  async callAnyReady(method: number, body: Uint8Array, timeoutMs?: number): Promise<Uint8Array> {
    let last: unknown = faults.ServerDataPlaneNotStarted();
    for (const inst of this.instances) {
      if (!inst.isReady()) continue;
      try {
        return await inst.callMgmt(method, body, timeoutMs);
      } catch (e) {
        last = e;
        if (!(isFault(e) || e instanceof DrpcTimeoutError || e instanceof DrpcStatusError)) {
          throw e;
        }
        this.#log.debug(`dRPC ${method} on instance ${inst.index} failed: ${errorText(e)}`);
      }
    }
    throw last;
  }

  /** Server shutdown: SIGKILL every engine and stop the run loops. */
  async shutdown(): Promise<void> {
    this.#restarter.close();
    await Promise.all(this.instances.map((i) => i.shutdown()));
  }
}
