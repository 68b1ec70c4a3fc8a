/**
 * This server's client of the management service: the engines' Join (leader-following,
 * retried until it succeeds, fails for good or the server stops) and RAS events forwarded to
 * the leader as ClusterEvent (server.md §2.3, §5.5).
 */
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import type { JoinReq, JoinResp } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import { ClusterEventReqSchema, type RASEvent } from "../../proto/gen/ts/shared/event_pb.ts";
import type { Invoker } from "../lib/control/invoker.ts";
import { errorText, isFault } from "../lib/fault.ts";
import { isMsRetryable, remoteCode } from "../lib/rpc/error_codec.ts";
import { abortableSleep as sleep, MsUnreachableError } from "../lib/rpc/ms_request.ts";

/** Join: total deadline and per-try timeout (server.md §2.3). */
export const JOIN_TOTAL_MS = 60 * 60_000;
export const JOIN_TRY_MS = 10_000;
/** ClusterEvent forwarding: total deadline per event. */
export const EVENT_TOTAL_MS = 60_000;
/** Most events waiting to be forwarded to the MS; more are dropped (and logged). */
export const MAX_QUEUED_EVENTS = 256;

/**
 * Errors worth another round, by type: the MS unreachable (connection faults, RPC timeouts,
 * no candidate reachable), not the leader or a replica, not ready, its database briefly
 * unavailable (isMsRetryable), or a call the MS's side cut short (deadline, unavailable):
 * a repeated join is idempotent.
 */
function retryable(e: unknown): boolean {
  if (isFault(e) && e.domain === "client") return true;
  if (e instanceof MsUnreachableError || isMsRetryable(e)) return true;
  const code = remoteCode(e);
  return code === Code.DeadlineExceeded || code === Code.Unavailable;
}

/** Options of {@link MsClient}. */
export interface MsClientOptions {
  /** How calls are made: the server's transport pool (or a MockInvoker in tests). */
  pool: Invoker;
  /** mgmt_svc_replicas as "host:port". */
  replicas: string[];
  /** `sys` of requests. */
  system: string;
  log: { debug(m: string): void; info(m: string): void; error(m: string): void };
}

/** Join and event forwarding to the MS; close() aborts everything in flight. */
export class MsClient {
  readonly #o: MsClientOptions;
  readonly #abort = new AbortController();
  #sequence = 0n;
  #events: Promise<void> = Promise.resolve();
  #queued = 0; // events queued or in flight

  constructor(opts: MsClientOptions) {
    this.#o = opts;
  }

  /**
   * Sends `req` to the MS leader, retrying connection failures, "not ready" answers and
   * elections until JOIN_TOTAL_MS passes or the client is closed (onRetry hears each of
   * these). Other errors (e.g. a duplicate identity) are returned at once.
   */
  async join(req: JoinReq, onRetry?: (err: unknown) => void): Promise<JoinResp> {
    const signal = this.#abort.signal;
    const deadline = Date.now() + JOIN_TOTAL_MS;
    let last: unknown;
    for (let attempt = 0; attempt < 10_000 && Date.now() < deadline; attempt++) {
      if (signal.aborted) break;
      try {
        return await this.#o.pool.msRequest(MgmtSvc.method.join, req, {
          hosts: this.#o.replicas,
          deadline: Math.min(deadline, Date.now() + 3 * JOIN_TRY_MS),
          perTryMs: JOIN_TRY_MS,
          name: "Join",
          signal,
        });
      } catch (e) {
        last = e;
        if (!retryable(e)) throw e;
        onRetry?.(e);
        this.#o.log.debug(`join of instance ${req.idx}: ${errorText(e)}; retrying`);
        await sleep(Math.min(1000, 100 * 2 ** Math.min(attempt, 4)), signal);
      }
    }
    throw new Error(
      `join of instance ${req.idx} abandoned${signal.aborted ? " (server stopping)" : ""}: ${
        last === undefined ? "no answer" : errorText(last)
      }`,
    );
  }

  /**
   * Queues `ev` for the MS leader (in order, one at a time). Failures are logged; an event the
   * MS cannot take within EVENT_TOTAL_MS is dropped.
   */
  forwardEvent(ev: RASEvent): void {
    if (this.#queued >= MAX_QUEUED_EVENTS) {
      // A local process flooding daos_server.sock with events (each up to 1 MiB) while the MS
      // is slow or away must not grow memory without bound or bury a real engine_died.
      this.#o.log.error(
        `event ${ev.id} (rank ${ev.rank}) dropped: ${this.#queued} events already waiting ` +
          "for the MS",
      );
      return;
    }
    this.#queued++;
    const sequence = ++this.#sequence;
    // Counted from when it was queued: events waiting behind others expire with them.
    const deadline = Date.now() + EVENT_TOTAL_MS;
    const send = async () => {
      try {
        await this.#send(ev, sequence, deadline);
      } finally {
        this.#queued--;
      }
    };
    this.#events = this.#events.then(send, send);
  }

  async #send(ev: RASEvent, sequence: bigint, deadline: number): Promise<void> {
    const signal = this.#abort.signal;
    for (let attempt = 0; attempt < 1000 && !signal.aborted && Date.now() < deadline; attempt++) {
      try {
        await this.#o.pool.msRequest(
          MgmtSvc.method.clusterEvent,
          create(ClusterEventReqSchema, { sequence, event: ev }),
          {
            hosts: this.#o.replicas,
            deadline: Math.min(deadline, Date.now() + JOIN_TRY_MS),
            perTryMs: JOIN_TRY_MS,
            name: "ClusterEvent",
            signal,
          },
        );
        this.#o.log.debug(`event ${ev.id} (rank ${ev.rank}) forwarded to the MS`);
        return;
      } catch (e) {
        if (!retryable(e)) {
          this.#o.log.error(`event ${ev.id} (rank ${ev.rank}) not forwarded: ${errorText(e)}`);
          return;
        }
        await sleep(Math.min(1000, 100 * 2 ** Math.min(attempt, 4)), signal);
      }
    }
    this.#o.log.error(`event ${ev.id} (rank ${ev.rank}) dropped: MS unreachable`);
  }

  /** Aborts joins and event forwarding in flight. */
  close(): void {
    this.#abort.abort();
  }
}
