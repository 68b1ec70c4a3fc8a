/**
 * MS leadership through an etcd election: each replica holds a lease and a key
 * `<prefix>/election/<lease id>` whose value is its address; the oldest key (lowest create
 * revision) is the leader. Leadership ends when the lease does (keep-alive failures longer than
 * the TTL, or etcd says it expired). The leader's writes compare its key's create revision, so
 * a deposed leader's writes fail (see {@link Election.fence}).
 */
import type { Compare, EtcdClient, LeaseHandle } from "./etcd_client.ts";
import { Sleeper } from "./sleeper.ts";

/** Leadership as seen by one replica. */
export interface LeadershipView {
  /** Address of the current leader, "" when unknown (election in progress). */
  leader: string;
  /** True while this replica holds leadership. */
  isLeader: boolean;
}

/** Campaigning replica. */
export class Election {
  #lease: LeaseHandle | null = null;
  #key = "";
  #createRev = 0n;
  #leader = "";
  #isLeader = false;
  #running = false;
  #loop: Promise<void> | null = null;
  #lastKeepAlive = 0;
  #sleeper = new Sleeper();
  /** Called on every leadership change of this replica (true = gained). */
  onChange: (isLeader: boolean) => void | Promise<void> = () => {};

  constructor(
    readonly etcd: EtcdClient,
    readonly prefix: string,
    readonly self: string,
    readonly ttlS: number,
    readonly pollMs = 100,
  ) {}

  /** Current view. */
  view(): LeadershipView {
    return { leader: this.#leader, isLeader: this.#isLeader };
  }

  /** Compare that holds only while this replica's election key exists unchanged. */
  fence(): Compare {
    if (!this.#isLeader) throw new Error("not the MS leader");
    return { key: this.#key, target: "create", equals: this.#createRev };
  }

  /** Starts campaigning (idempotent). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops campaigning and resigns (revokes the lease so a successor is elected at once). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#sleeper.wake();
    await this.#loop;
    this.#loop = null;
    await this.#setLeader(false, "");
    await this.#lease?.revoke();
    this.#lease = null;
  }

  /**
   * Stops campaigning without resigning, as a crashed process would: the lease (and with it
   * leadership) ends only when its TTL runs out.
   */
  async abandon(): Promise<void> {
    this.#running = false;
    this.#sleeper.wake();
    await this.#loop;
    this.#loop = null;
    this.#lease = null;
    await this.#setLeader(false, "");
  }

  /** Gives up leadership now; campaigning continues with a fresh lease. */
  async resign(): Promise<void> {
    await this.#lease?.revoke();
    this.#lease = null;
    await this.#setLeader(false, this.#leader === this.self ? "" : this.#leader);
  }

  async #setLeader(isLeader: boolean, leader: string): Promise<void> {
    this.#leader = leader;
    if (isLeader === this.#isLeader) return;
    this.#isLeader = isLeader;
    try {
      await this.onChange(isLeader);
    } catch { /* the callback owns its errors */ }
  }

  async #campaign(): Promise<void> {
    const lease = this.etcd.lease(this.ttlS);
    const id = await lease.id();
    const key = `${this.prefix}/election/${BigInt(id).toString(16)}`;
    // Create the key only if absent; the lease makes it vanish with us.
    await this.etcd.txn([{ key, target: "create", equals: 0n }], [{
      put: key,
      value: this.self,
      lease: id,
    }]);
    const kv = await this.etcd.get(key);
    if (!kv) throw new Error("election key vanished right after creation");
    this.#lease = lease;
    this.#key = key;
    this.#createRev = kv.createRevision;
    this.#lastKeepAlive = Date.now();
  }

  async #tick(): Promise<void> {
    if (!this.#lease) await this.#campaign();
    // Keep-alive roughly three times per TTL.
    if (Date.now() - this.#lastKeepAlive >= (this.ttlS * 1000) / 3) {
      if (!(await this.#lease!.keepAlive())) throw new Error("lease expired");
      this.#lastKeepAlive = Date.now();
    }
    const { kvs } = await this.etcd.getPrefix(`${this.prefix}/election/`, {
      byCreate: true,
      limit: 1,
    });
    const head = kvs[0];
    if (!head) throw new Error("no election key (lease lost)");
    const mine = head.key === this.#key && head.createRevision === this.#createRev;
    if (!mine && (await this.etcd.get(this.#key)) === null) throw new Error("lease lost");
    await this.#setLeader(mine, head.value);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        await this.#tick();
      } catch {
        // etcd unreachable or lease gone: we cannot prove leadership any more. Step down once
        // the lease may have expired; a fresh campaign starts when the key is known lost.
        const lost = this.#lease === null ||
          Date.now() - this.#lastKeepAlive > this.ttlS * 1000;
        if (lost || !(await this.#keyExists())) {
          this.#lease = null;
          await this.#setLeader(false, "");
        }
      }
      if (this.#running) await this.#sleeper.sleep(this.pollMs);
    }
  }

  async #keyExists(): Promise<boolean> {
    try {
      return (await this.etcd.get(this.#key)) !== null;
    } catch {
      return true; // unknown: keep the lease until its TTL says otherwise
    }
  }
}
