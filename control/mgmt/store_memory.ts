/**
 * An in-memory {@link MembershipStore} for tests of the write pipeline and the MS operations
 * without etcd: the same commit rules as the etcd store (db.ts `planCommit`: validation,
 * versions, map version; a commit on a stale snapshot or without leadership is refused), a
 * leader flag the test sets, and injected faults: transient failures (before or after the
 * write applied), leadership lost at the next commit, a concurrent writer.
 */
import { cloneState, type DbChanges, type DbState, emptyState, planCommit } from "./db.ts";
import type { Member } from "./member.ts";
import { type LeadershipView, type MembershipStore, msDbUnavailable } from "./store.ts";

/** The transient failure injected by {@link MemoryStore.failCommits}. */
export class TransientStoreError extends Error {
  constructor(what: string) {
    super(`injected transient failure of ${what}`);
    this.name = "TransientStoreError";
  }
}

/** What a commit hook may do to the store just before a commit is decided. */
export type CommitHook = (store: MemoryStore) => void;

/** In-memory membership store with a settable leader flag and fault injection. */
export class MemoryStore implements MembershipStore {
  #state: DbState;
  #rev = 0n;
  #failures: { applied: boolean }[] = [];
  #readFailures = 0;
  #hooks: CommitHook[] = [];
  /** True while this replica leads (tests flip it). */
  leading = true;
  /** The leader's address as this replica sees it. */
  leader = "self";
  /** Replicas campaigning now (LeaderQuery). */
  campaigning: string[] = ["self"];
  /** Commit attempts (every call, failed or not). */
  commitCalls = 0;
  /** Commits that applied. */
  commitsApplied = 0;
  /** resign() calls. */
  resigned = 0;

  constructor(members: Member[] = [], init: Partial<Omit<DbState, "members">> = {}) {
    const s = { ...emptyState(), ...init };
    s.members = new Map(members.map((m) => [m.uuid, { ...m }]));
    this.#state = cloneState(s);
    if (this.#state.metaRev > 0n) this.#rev = this.#state.metaRev;
  }

  /** A copy of the stored state (what a read returns). */
  get state(): DbState {
    return cloneState(this.#state);
  }

  /** The stored members sorted by rank (for assertions). */
  members(): Member[] {
    return [...this.#state.members.values()].sort((a, b) => a.rank - b.rank);
  }

  /**
   * The next `n` commits fail with a {@link TransientStoreError}; with `applied` the write
   * takes effect first (an ambiguous outcome: the reply was lost, not the write).
   */
  failCommits(n: number, opts: { applied?: boolean } = {}): void {
    for (let i = 0; i < n; i++) this.#failures.push({ applied: opts.applied ?? false });
  }

  /** The next `n` reads fail with a {@link TransientStoreError}. */
  failReads(n: number): void {
    this.#readFailures += n;
  }

  /** Runs `hook` once, right before the next commit is decided (e.g. a concurrent writer). */
  beforeNextCommit(hook: CommitHook): void {
    this.#hooks.push(hook);
  }

  /** Leadership ends at the next commit (it is refused), as when the lease expired. */
  loseLeadershipAtNextCommit(newLeader = ""): void {
    this.beforeNextCommit((s) => {
      s.leading = false;
      s.leader = newLeader;
    });
  }

  /** Another writer changed the database: snapshots read before are stale. */
  concurrentWrite(changes: Partial<DbChanges> = {}): void {
    const { next } = planCommit("/mem", this.#state, {
      put: [],
      remove: [],
      attrs: {},
      extraMapIncrements: 0,
      ...changes,
    }, "other");
    this.#apply(next, "other");
  }

  view(): LeadershipView {
    return { leader: this.leader, isLeader: this.leading };
  }

  read(): Promise<DbState> {
    if (this.#readFailures > 0) {
      this.#readFailures--;
      return Promise.reject(new TransientStoreError("a read"));
    }
    return Promise.resolve(cloneState(this.#state));
  }

  commit(base: DbState, changes: DbChanges, txnId: string): Promise<DbState | null> {
    this.commitCalls++;
    try {
      this.#hooks.shift()?.(this);
      // Validation first, as the etcd store: a bad change throws before anything is written.
      const { next } = planCommit("/mem", base, changes, txnId);
      const fail = this.#failures.shift();
      if (fail && !fail.applied) throw new TransientStoreError("a commit");
      if (!this.leading || base.metaRev !== this.#state.metaRev) return Promise.resolve(null);
      this.#apply(next, txnId);
      if (fail) throw new TransientStoreError("a commit (after it applied)");
      return Promise.resolve(cloneState(this.#state));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  wipe(): Promise<boolean> {
    if (!this.leading) return Promise.resolve(false);
    this.#state = emptyState();
    return Promise.resolve(true);
  }

  isTransient(e: unknown): boolean {
    return e instanceof TransientStoreError;
  }

  unavailable(e: unknown): unknown {
    return msDbUnavailable(e, ["memory"], "self");
  }

  campaigners(): Promise<string[]> {
    return Promise.resolve([...this.campaigning]);
  }

  resign(): Promise<void> {
    this.resigned++;
    this.leading = false;
    this.leader = "";
    return Promise.resolve();
  }

  #apply(next: DbState, txnId: string): void {
    next.metaRev = ++this.#rev;
    next.lastTxn = txnId;
    this.#state = cloneState(next);
    this.commitsApplied++;
  }
}
