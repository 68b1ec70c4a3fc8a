/**
 * The leader's serialized fenced writes over a {@link MembershipStore}, and the cached state
 * they keep. One write at a time: each computes its changes from the latest state, and the
 * store refuses a commit on a stale snapshot or without leadership.
 */
import { NotLeaderError } from "../lib/rpc/error_codec.ts";
import { type DbChanges, type DbState, isEmpty } from "./db.ts";
import type { MembershipStore } from "./store.ts";

/** Commits on a stale snapshot tried before a write gives up (as not leader). */
const MAX_CONFLICTS = 5;

/** What the pipeline needs from the MS. */
export interface WritePipelineDeps {
  /** The store of the running replica; throws (not a replica, not started) otherwise. */
  store(): MembershipStore;
  /** How long transient failures are retried while leading (ms). */
  retryMs: number;
  /** The other replicas (hints of NotLeaderError). */
  otherReplicas(): string[];
  /** Called after a commit that put or removed members (group map changed). */
  onMembersChanged(): void;
  /** Called after each commit with the state before and after it (RAS state-change events). */
  onCommitted?(base: DbState, next: DbState): void;
  log(msg: string): void;
}

/** Serialized fenced writes and the leader's cached state. */
export class WritePipeline {
  #cache: DbState | null = null;
  #chain: Promise<unknown> = Promise.resolve();
  /** Invalid member records already reported in the log (key + problem). */
  #reported = new Set<string>();

  constructor(private readonly deps: WritePipelineDeps) {}

  /**
   * Serialized fenced write: `fn` computes changes from the current state; retried on a stale
   * snapshot, NotLeader when deposed. Transient store failures (a slow call under a burst of
   * joins, a dropped connection) are retried too, for a bounded time, while this replica still
   * leads: the fence keeps a deposed leader from writing, and an ambiguous commit is resolved by
   * its txn id. `fn` must be deterministic for a given state (it may be called again on the
   * same snapshot, whose result then replaces an earlier attempt still in flight).
   */
  write(fn: (s: DbState) => DbChanges): Promise<DbState> {
    return this.serialize(async () => {
      const store = this.deps.store();
      const retryUntil = Date.now() + this.deps.retryMs;
      // An attempt whose outcome is unknown: it may still apply, but only on its base revision.
      let pending: { txnId: string; baseRev: bigint } | null = null;
      let conflicts = 0;
      let transient = 0;
      while (conflicts < MAX_CONFLICTS) {
        try {
          const base = this.#cache ?? await this.read(store);
          this.#cache = base;
          if (pending && base.lastTxn === pending.txnId) return base; // it did apply
          const changes = fn(base);
          if (isEmpty(changes)) return base;
          if (!store.view().isLeader) throw this.#notLeader(store);
          // Same base as the unresolved attempt: same changes, same id, so at most one applies.
          const prev = pending as { txnId: string; baseRev: bigint } | null;
          const txnId: string = prev !== null && prev.baseRev === base.metaRev
            ? prev.txnId
            : crypto.randomUUID();
          pending = { txnId, baseRev: base.metaRev };
          const next = await store.commit(base, changes, txnId);
          if (next) {
            this.#cache = next;
            this.deps.onCommitted?.(base, next);
            // Member changes reach the engines with the next lazy update.
            if (changes.put.length > 0 || changes.remove.length > 0) this.deps.onMembersChanged();
            return next;
          }
          this.#cache = null; // stale snapshot or lost fence: re-read and re-check
          conflicts++;
          if (!store.view().isLeader) break;
        } catch (e) {
          this.#cache = null;
          if (
            !store.isTransient(e) || !store.view().isLeader || Date.now() >= retryUntil
          ) throw this.#answer(store, e);
          transient++;
          this.deps.log(`MS write: transient etcd error (attempt ${transient}), retrying: ${e}`);
          await new Promise((r) => setTimeout(r, Math.min(20 * 2 ** transient, 200)));
        }
      }
      throw this.#notLeader(store);
    });
  }

  /**
   * Runs `op` after every write queued before it, and before any queued after (a wipe of the
   * whole database must not interleave with a write computed on the old one).
   */
  serialize<T>(op: () => Promise<T>): Promise<T> {
    const p = this.#chain.then(op, op);
    this.#chain = p.catch(() => {});
    return p;
  }

  /** Deletes the whole database (serialized with the writes); NotLeader when deposed. */
  wipe(): Promise<void> {
    return this.serialize(async () => {
      const store = this.deps.store();
      if (!(await store.wipe())) throw this.#notLeader(store);
      this.#cache = null;
    });
  }

  /** Current state for the leader (cached) or any replica (fresh read). */
  async state(): Promise<DbState> {
    const store = this.deps.store();
    if (store.view().isLeader && this.#cache) return this.#cache;
    try {
      return await this.read(store);
    } catch (e) {
      throw this.#answer(store, e);
    }
  }

  /** The cached state, else a fresh read whose failures are passed on as they are. */
  async snapshot(): Promise<DbState> {
    return this.#cache ?? await this.read(this.deps.store());
  }

  /** Forgets the cached state (leadership changed, database stopped or erased). */
  invalidate(): void {
    this.#cache = null;
  }

  /** Reads the database and reports member records it had to set aside (once each). */
  async read(store: MembershipStore): Promise<DbState> {
    const s = await store.read();
    for (const r of s.invalid) {
      const id = `${r.key}\n${r.problem}`;
      if (this.#reported.has(id)) continue;
      this.#reported.add(id);
      const how = r.rank !== null
        ? `dmg system exclude --ranks ${r.rank}`
        : r.addr !== ""
        ? `dmg system exclude --rank-hosts ${r.addr}`
        : "dmg system erase";
      this.deps.log(
        `invalid member record ${r.key} ignored (left out of queries, group maps and system operations): ${r.problem}; remove it with ${how}`,
      );
    }
    return s;
  }

  /** NotLeaderError naming the leader this replica knows of and the other replicas. */
  #notLeader(store: MembershipStore): NotLeaderError {
    return new NotLeaderError(store.view().leader, this.deps.otherReplicas());
  }

  /** A store failure as the MS answers it: transient ones as "MS database unavailable". */
  #answer(store: MembershipStore, e: unknown): unknown {
    return store.isTransient(e) ? store.unavailable(e) : e;
  }
}
