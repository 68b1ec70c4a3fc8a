/**
 * {@link MembershipStore} over etcd: the database of db.ts, guarded by the fence of this
 * replica's election key (election.ts).
 */
import type { DbChanges, DbState, MembershipDb } from "./db.ts";
import type { Election } from "./election.ts";
import { type EtcdClient, isTransientEtcdError } from "./etcd_client.ts";
import { type LeadershipView, type MembershipStore, msDbUnavailable } from "./store.ts";

/** The etcd-backed membership store of one replica. */
export class EtcdStore implements MembershipStore {
  constructor(
    readonly etcd: EtcdClient,
    readonly db: MembershipDb,
    readonly election: Election,
    /** Client URLs of the etcd members (named in "unavailable" errors). */
    readonly endpoints: string[],
    /** This replica's control address (named in "unavailable" errors). */
    readonly self: string,
  ) {}

  view(): LeadershipView {
    return this.election.view();
  }

  read(): Promise<DbState> {
    return this.db.read();
  }

  async commit(base: DbState, changes: DbChanges, txnId: string): Promise<DbState | null> {
    const fence = this.#fence();
    return fence === null ? null : await this.db.commit(fence, base, changes, txnId);
  }

  async wipe(): Promise<boolean> {
    const fence = this.#fence();
    return fence !== null && await this.db.wipe(fence);
  }

  isTransient(e: unknown): boolean {
    return isTransientEtcdError(e);
  }

  unavailable(e: unknown): unknown {
    return msDbUnavailable(e, this.endpoints, this.self);
  }

  async campaigners(): Promise<string[]> {
    const { kvs } = await this.etcd.getPrefix(`${this.db.prefix}/election/`);
    return kvs.map((k) => k.value);
  }

  resign(): Promise<void> {
    return this.election.resign();
  }

  /** The compare that holds while this replica leads; null when it does not. */
  #fence() {
    try {
      return this.election.fence();
    } catch {
      return null;
    }
  }
}
