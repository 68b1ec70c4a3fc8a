/**
 * The MS's append-only logs (RAS events, audit records) in etcd, beside the membership
 * database: `/daos-log/<system>/<kind>/<seq>` with the sequence number zero-padded to 20 digits
 * (key order = number order). They live outside `/daos/<system>/` so that the membership
 * snapshot (one range read of that prefix, db.ts) does not carry 10k log entries, and so that
 * the database's wipe (system erase) leaves them alone: with an external etcd the audit trail
 * outlives the erase; with the replicas' own etcd members it goes with their data.
 *
 * Appends are fenced like membership writes (the leader's election key) and guarded by the
 * first new key not existing, so a deposed leader cannot write and no sequence number is ever
 * written twice. The bound is applied in the same transaction (one range delete of the oldest).
 * `EtcdLogStore` is the product; `MemoryLogStore` the same rules in memory for tests.
 */
import type { Election } from "./election.ts";
import { type EtcdClient, isTransientEtcdError } from "./etcd_client.ts";
import { TransientStoreError } from "./store_memory.ts";

/** The logs kept. */
export type LogKind = "events" | "audit";

/** One stored entry. */
export interface LogEntry {
  seq: bigint;
  value: string;
}

/** One replica's access to the MS's logs. */
export interface LogStore {
  /** True while this replica leads (only the leader appends). */
  isLeader(): boolean;
  /** The highest sequence number stored (0 when the log is empty). */
  lastSeq(kind: LogKind): Promise<bigint>;
  /**
   * Stores `values` as `first`, `first + 1`, ... and drops all but the newest `keep` entries,
   * in one transaction, if this replica still leads and `first` is not taken: false otherwise.
   */
  append(kind: LogKind, first: bigint, values: string[], keep: number): Promise<boolean>;
  /** Entries with a sequence number above `after`, oldest first, at most `limit` (0: all). */
  after(kind: LogKind, after: bigint, limit: number): Promise<LogEntry[]>;
  /** The newest `n` entries, oldest first. */
  tail(kind: LogKind, n: number): Promise<LogEntry[]>;
  /** True for a failure worth retrying (a deadline, a dropped connection). */
  isTransient(e: unknown): boolean;
}

/** The key of entry `seq`: zero-padded so that key order is number order. */
export function seqKey(seq: bigint): string {
  return seq.toString().padStart(20, "0");
}

/** The first sequence number kept once `last` is stored with bound `keep` (≥ 1). */
export function firstKept(last: bigint, keep: number): bigint {
  const first = last - BigInt(Math.max(keep, 1)) + 1n;
  return first > 1n ? first : 1n;
}

/** The logs of one system in etcd. */
export class EtcdLogStore implements LogStore {
  readonly prefix: string;

  constructor(
    readonly etcd: EtcdClient,
    readonly election: Election,
    system: string,
  ) {
    this.prefix = `/daos-log/${system}`;
  }

  isLeader(): boolean {
    return this.election.view().isLeader;
  }

  #dir(kind: LogKind): string {
    return `${this.prefix}/${kind}/`;
  }

  async lastSeq(kind: LogKind): Promise<bigint> {
    const dir = this.#dir(kind);
    const kvs = await this.etcd.getRange(dir, `${dir}~`, { limit: 1, descending: true });
    return kvs.length === 0 ? 0n : BigInt(kvs[0].key.slice(dir.length));
  }

  async append(kind: LogKind, first: bigint, values: string[], keep: number): Promise<boolean> {
    let fence;
    try {
      fence = this.election.fence();
    } catch {
      return false;
    }
    const dir = this.#dir(kind);
    const last = first + BigInt(values.length) - 1n;
    const from = firstKept(last, keep);
    // etcd refuses a txn whose delete range covers a key it puts: entries of this batch
    // beyond the bound are not written at all, and the range stops below the batch.
    const ops = values.map((value, i) => ({ put: `${dir}${seqKey(first + BigInt(i))}`, value }))
      .slice(from > first ? Number(from - first) : 0);
    const end = from < first ? from : first;
    const trim = end > 1n ? [{ deleteFrom: dir, end: `${dir}${seqKey(end)}` }] : [];
    const r = await this.etcd.txn(
      [fence, { key: `${dir}${seqKey(first)}`, target: "create", equals: 0n }],
      [...ops, ...trim],
    );
    return r.succeeded;
  }

  async after(kind: LogKind, after: bigint, limit: number): Promise<LogEntry[]> {
    const dir = this.#dir(kind);
    const kvs = await this.etcd.getRange(`${dir}${seqKey(after + 1n)}`, `${dir}~`, { limit });
    return kvs.map((kv) => ({ seq: BigInt(kv.key.slice(dir.length)), value: kv.value }));
  }

  async tail(kind: LogKind, n: number): Promise<LogEntry[]> {
    const dir = this.#dir(kind);
    const kvs = await this.etcd.getRange(dir, `${dir}~`, { limit: n, descending: true });
    return kvs.reverse().map((kv) => ({ seq: BigInt(kv.key.slice(dir.length)), value: kv.value }));
  }

  isTransient(e: unknown): boolean {
    return isTransientEtcdError(e);
  }
}

/** The logs in memory, with a leader flag and injected transient failures (tests). */
export class MemoryLogStore implements LogStore {
  readonly logs = new Map<LogKind, Map<bigint, string>>();
  /** True while this replica leads. */
  leading = true;
  /** Transactions that applied (batching tests count them). */
  txns = 0;
  #failures: { applied: boolean }[] = [];

  isLeader(): boolean {
    return this.leading;
  }

  /** The next `n` appends fail transiently; with `applied` after the write took effect. */
  failAppends(n: number, opts: { applied?: boolean } = {}): void {
    for (let i = 0; i < n; i++) this.#failures.push({ applied: opts.applied ?? false });
  }

  #log(kind: LogKind): Map<bigint, string> {
    let l = this.logs.get(kind);
    if (!l) this.logs.set(kind, l = new Map());
    return l;
  }

  /** Sequence numbers stored, ascending. */
  seqs(kind: LogKind): bigint[] {
    return [...this.#log(kind).keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  lastSeq(kind: LogKind): Promise<bigint> {
    const s = this.seqs(kind);
    return Promise.resolve(s.length === 0 ? 0n : s[s.length - 1]);
  }

  append(kind: LogKind, first: bigint, values: string[], keep: number): Promise<boolean> {
    const fail = this.#failures.shift();
    if (fail && !fail.applied) return Promise.reject(new TransientStoreError("an append"));
    const l = this.#log(kind);
    if (!this.leading || l.has(first)) return Promise.resolve(false);
    values.forEach((v, i) => l.set(first + BigInt(i), v));
    const from = firstKept(first + BigInt(values.length) - 1n, keep);
    for (const s of l.keys()) if (s < from) l.delete(s);
    this.txns++;
    if (fail) return Promise.reject(new TransientStoreError("an append (after it applied)"));
    return Promise.resolve(true);
  }

  after(kind: LogKind, after: bigint, limit: number): Promise<LogEntry[]> {
    const l = this.#log(kind);
    const out = this.seqs(kind).filter((s) => s > after).map((seq) => ({
      seq,
      value: l.get(seq)!,
    }));
    return Promise.resolve(limit > 0 ? out.slice(0, limit) : out);
  }

  tail(kind: LogKind, n: number): Promise<LogEntry[]> {
    const l = this.#log(kind);
    return Promise.resolve(this.seqs(kind).slice(-n).map((seq) => ({ seq, value: l.get(seq)! })));
  }

  isTransient(e: unknown): boolean {
    return e instanceof TransientStoreError;
  }
}
