/**
 * The membership database as the MS's operations see it: a consistent snapshot to read, and
 * commits guarded by this replica's leadership and by the snapshot they were computed on.
 * `store_etcd.ts` implements it over etcd (the product), `store_memory.ts` in memory (tests of
 * the write pipeline and the operations, without etcd).
 */
import { type Fault, makeFault } from "../lib/fault.ts";
import { MS_DB_UNAVAILABLE } from "../lib/rpc/error_codec.ts";
import type { DbChanges, DbState } from "./db.ts";
import type { LeadershipView } from "./election.ts";

export type { LeadershipView };

/** One replica's access to the system's membership database. */
export interface MembershipStore {
  /** Leadership as this replica sees it now. */
  view(): LeadershipView;
  /** The whole database, a consistent snapshot; throws when the store does not answer. */
  read(): Promise<DbState>;
  /**
   * Commits `changes` on top of `base` if this replica still leads and nobody wrote since `base`
   * was read: the new state, or null when either guard failed (stale snapshot, leadership
   * lost). `txnId` is recorded with the write so that an attempt whose outcome was lost can be
   * recognised on the next read (`DbState.lastTxn`).
   */
  commit(base: DbState, changes: DbChanges, txnId: string): Promise<DbState | null>;
  /** Deletes the whole database if this replica still leads; false when it does not. */
  wipe(): Promise<boolean>;
  /** True for a failure worth retrying while leading (a deadline, a dropped connection). */
  isTransient(e: unknown): boolean;
  /** The error an MS request gets for a transient failure `e` (see {@link msDbUnavailable}). */
  unavailable(e: unknown): unknown;
  /** Addresses of the replicas campaigning for leadership now (LeaderQuery's live replicas). */
  campaigners(): Promise<string[]>;
  /** Gives up leadership now (a failed step-up); campaigning goes on. */
  resign(): Promise<void>;
}

/**
 * The error an MS request gets when the replica's database does not answer (down, restarting,
 * or stuck, e.g. on a full filesystem): it names the database and where to look, instead of
 * passing on the client's text (a refused connection or a deadline on a port the operator never
 * configured, which reads like dmg's own connection failing).
 */
export function msDbUnavailable(cause: unknown, endpoints: string[], self: string): Fault {
  const why = cause instanceof Error ? cause.message : String(cause);
  return makeFault(
    "SystemUnknown",
    `the MS database is unavailable: etcd at ${
      endpoints.map((e) => e.replace(/^[a-z]+:\/\//, "")).join(",")
    } did not answer (${why})`,
    `check the control log of MS replica ${self} and the space left on the filesystem ` +
      "holding its MS database (control_metadata path or engine 0's SCM mount), then retry",
    cause,
  ).withReason(MS_DB_UNAVAILABLE);
}
