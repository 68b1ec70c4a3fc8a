/**
 * Thin typed wrapper over the `etcd3` client: every call carries a deadline (the client otherwise
 * stalls for seconds when the etcd leader is lost), keys and values are strings.
 */
import { Buffer } from "node:buffer";
import {
  BrokenCircuitError,
  circuitBreaker,
  ConsecutiveBreaker,
  handleAll,
  noop,
  retry,
} from "cockatiel";
import {
  Etcd3,
  GRPCDeadlineExceededError,
  GRPCResourceExhastedError,
  GRPCUnavailableError,
  type Lease,
} from "etcd3";

/** One key as read from etcd. */
export interface KeyValue {
  key: string;
  value: string;
  createRevision: bigint;
  modRevision: bigint;
  lease: string;
}

/** Conditions of a transaction (all must hold). */
export type Compare =
  | { key: string; target: "create"; equals: bigint }
  | { key: string; target: "mod"; equals: bigint }
  | { key: string; target: "value"; equals: string };

/** Writes of a transaction. */
export type Op =
  | { put: string; value: string; lease?: string }
  | { delete: string }
  | { deletePrefix: string }
  /** Every key in [deleteFrom, end). */
  | { deleteFrom: string; end: string };

/** Outcome of a transaction. */
export interface TxnResult {
  succeeded: boolean;
  revision: bigint;
}

function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      const out = Buffer.from(b.subarray(0, i + 1));
      out[i]++;
      return out;
    }
  }
  return Buffer.from([0]);
}

function toKv(kv: {
  key: Buffer;
  value: Buffer;
  create_revision: string;
  mod_revision: string;
  lease: string;
}): KeyValue {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: BigInt(kv.create_revision),
    modRevision: BigInt(kv.mod_revision),
    lease: kv.lease,
  };
}

/**
 * Transactions handed to gRPC at once (etcd reaches its full write rate, ~5000/s, at 64 in
 * flight). The rest wait in order, their deadline not yet running: 1024 txns issued together
 * each had 500 ms for the whole burst, and the last ones exceeded it while etcd was busy with
 * the first. Reads are not queued: the election's reads and keep-alives must not wait behind a
 * burst of writes, or the leader's lease expires under it.
 */
export const ETCD_MAX_IN_FLIGHT = 64;

/**
 * Largest etcd answer read: 64 MiB. The membership is read whole (`members/` prefix, ~850 bytes
 * a member), and gRPC's default 4 MiB limit failed every read of the MS past ~5000 members
 * ("Received message larger than max (8571973 vs 4194304)" at 10k); 64 MiB holds ~75k.
 */
export const ETCD_MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

/** A FIFO limit on concurrent calls. */
class CallGate {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#free = limit;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next(); // the slot passes straight on
      else this.#free++;
    }
  }
}

/** etcd access for the MS. */
export class EtcdClient {
  readonly #client: Etcd3;
  readonly #gate = new CallGate(ETCD_MAX_IN_FLIGHT);
  /** Told each txn's duration (queueing included: what the MS waits) and whether it ran. */
  onTxn: ((seconds: number, ok: boolean) => void) | null = null;

  constructor(readonly endpoints: string[], readonly callTimeoutMs = 500) {
    this.#client = new Etcd3({
      hosts: endpoints,
      dialTimeout: callTimeoutMs,
      grpcOptions: { "grpc.max_receive_message_length": ETCD_MAX_RECEIVE_BYTES },
      defaultCallOptions: () => ({ deadline: Date.now() + callTimeoutMs }),
      // The library's defaults (3 failures open a host's breaker for 5 s, 3 global retries)
      // stall the MS for seconds after one member dies; skip a failed host briefly instead and
      // retry once (our callers retry on their own, writes are made idempotent by a txn id).
      // With a single endpoint (each replica talks to its local member) a breaker has no other
      // host to fail over to: one slow call under load (e.g. a keep-alive queued behind a
      // burst of 1024 join txns) would open it and fail every call for 250 ms, so none then.
      faultHandling: {
        host: () =>
          endpoints.length > 1
            ? circuitBreaker(handleAll, {
              halfOpenAfter: 250,
              breaker: new ConsecutiveBreaker(1),
            })
            : noop,
        global: retry(handleAll, { maxAttempts: 1 }),
      },
    });
  }

  /**
   * Call options of a unary call: none, so that the client's defaultCallOptions factory sets the
   * deadline when the call is actually handed to gRPC. A deadline computed here, before the
   * client's own awaits, let a call queued behind a burst (1024 join txns) be born expired
   * ("Deadline exceeded after 0.000s, waiting for name resolution").
   */
  #opts(): undefined {
    return undefined;
  }

  /** Reads one key, or null when absent. */
  async get(key: string): Promise<KeyValue | null> {
    const r = await this.#client.kv.range({ key: Buffer.from(key) }, this.#opts());
    return r.kvs.length ? toKv(r.kvs[0]) : null;
  }

  /** Reads every key under `prefix`, in key order (or by create revision with `byCreate`). */
  async getPrefix(
    prefix: string,
    opts: { byCreate?: boolean; limit?: number } = {},
  ): Promise<{ kvs: KeyValue[]; revision: bigint }> {
    const r = await this.#client.kv.range({
      key: Buffer.from(prefix),
      range_end: prefixEnd(prefix),
      sort_target: opts.byCreate ? "Create" : "Key",
      sort_order: "Ascend",
      limit: opts.limit ?? 0,
    }, this.#opts());
    return { kvs: r.kvs.map(toKv), revision: BigInt(r.header.revision) };
  }

  /**
   * Reads keys in [start, end) in key order (newest first with `descending`), at most `limit`
   * (0: all): the log ranges of ops/ras_log.ts.
   */
  async getRange(
    start: string,
    end: string,
    opts: { limit?: number; descending?: boolean } = {},
  ): Promise<KeyValue[]> {
    const r = await this.#client.kv.range({
      key: Buffer.from(start),
      range_end: Buffer.from(end),
      sort_target: "Key",
      sort_order: opts.descending ? "Descend" : "Ascend",
      limit: opts.limit ?? 0,
    }, this.#opts());
    return r.kvs.map(toKv);
  }

  /** Atomically applies `ops` if every compare holds (at most ETCD_MAX_IN_FLIGHT at once). */
  async txn(compares: Compare[], ops: Op[]): Promise<TxnResult> {
    const observe = this.onTxn;
    if (observe === null) return await this.#txn(compares, ops);
    const t0 = performance.now();
    let ok = false;
    try {
      const r = await this.#txn(compares, ops);
      ok = true;
      return r;
    } finally {
      observe((performance.now() - t0) / 1000, ok);
    }
  }

  async #txn(compares: Compare[], ops: Op[]): Promise<TxnResult> {
    const r = await this.#gate.run(() =>
      this.#client.kv.txn({
        compare: compares.map((c) => {
          const key = Buffer.from(c.key);
          switch (c.target) {
            case "create":
              return {
                key,
                target: "Create",
                result: "Equal",
                create_revision: c.equals.toString(),
              };
            case "mod":
              return { key, target: "Mod", result: "Equal", mod_revision: c.equals.toString() };
            case "value":
              return { key, target: "Value", result: "Equal", value: Buffer.from(c.equals) };
          }
        }),
        success: ops.map((o) => {
          if ("put" in o) {
            return {
              request_put: {
                key: Buffer.from(o.put),
                value: Buffer.from(o.value),
                lease: o.lease ?? "0",
              },
            };
          }
          if ("delete" in o) return { request_delete_range: { key: Buffer.from(o.delete) } };
          if ("deleteFrom" in o) {
            return {
              request_delete_range: {
                key: Buffer.from(o.deleteFrom),
                range_end: Buffer.from(o.end),
              },
            };
          }
          return {
            request_delete_range: {
              key: Buffer.from(o.deletePrefix),
              range_end: prefixEnd(o.deletePrefix),
            },
          };
        }),
        failure: [],
      }, this.#opts())
    );
    return { succeeded: r.succeeded, revision: BigInt(r.header.revision) };
  }

  /** A lease with manual keep-alive (see {@link LeaseHandle}). */
  lease(ttlS: number): LeaseHandle {
    return new LeaseHandle(this.#client.lease(ttlS, { autoKeepAlive: false }), this.callTimeoutMs);
  }

  /** Raft view of the member answering: its id, the etcd leader it knows, the raft term. */
  async status(): Promise<{ memberId: string; leader: string; raftTerm: bigint }> {
    const r = await this.#client.maintenance.status(this.#opts());
    return { memberId: r.header.member_id, leader: r.leader, raftTerm: BigInt(r.raftTerm) };
  }

  /** True when some endpoint answers a status call. */
  async healthy(): Promise<boolean> {
    try {
      await this.#client.maintenance.status(this.#opts());
      return true;
    } catch {
      return false;
    }
  }

  /** Closes all connections. */
  close(): void {
    this.#client.close();
  }
}

/** A granted lease whose keep-alives are driven by the caller, each with a deadline. */
export class LeaseHandle {
  constructor(readonly lease: Lease, readonly callTimeoutMs: number) {
    // The library reports loss through this event; we detect loss through keepAlive() instead.
    lease.on("lost", () => {});
  }

  /** Lease id (decimal string); grants it first if needed. */
  async id(): Promise<string> {
    return await withDeadline(this.lease.grant(), this.callTimeoutMs, "lease grant");
  }

  /** Refreshes the lease; false when etcd says it expired. Throws when etcd is unreachable. */
  async keepAlive(): Promise<boolean> {
    const r = await this.lease.keepaliveOnce({ deadline: Date.now() + this.callTimeoutMs });
    return Number(r.TTL) > 0;
  }

  /** Revokes the lease (best effort). */
  async revoke(): Promise<void> {
    try {
      await this.lease.revoke({ deadline: Date.now() + this.callTimeoutMs });
    } catch { /* expires on its own */ }
  }
}

/**
 * True for etcd call failures that say nothing about the data (the call was slow, the
 * connection dropped, etcd shed load): worth retrying while leadership holds.
 */
export function isTransientEtcdError(e: unknown): boolean {
  return e instanceof GRPCDeadlineExceededError || e instanceof GRPCUnavailableError ||
    e instanceof GRPCResourceExhastedError || e instanceof BrokenCircuitError ||
    e instanceof EtcdDeadlineError;
}

/** A call guarded by {@link withDeadline} took longer than its deadline. */
export class EtcdDeadlineError extends Error {}

/** Rejects `p` after `ms` (the library's grant path takes no call options). */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(
      () => rej(new EtcdDeadlineError(`${what}: etcd deadline of ${ms} ms exceeded`)),
      ms,
    );
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
