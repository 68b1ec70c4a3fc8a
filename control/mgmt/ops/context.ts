/** What the MS operations (ops/*.ts) work with: the leader's writes, the fan-out, the log. */
import type { DbChanges, DbState } from "../db.ts";
import type { Fanout } from "../fanout.ts";

/** The context of one MS operation; the caller checked leadership (or replica-ship) first. */
export interface OpsContext {
  /** Default control port for host filters without a port. */
  controlPort?: number;
  /** The current state (leader: cached). */
  state(): Promise<DbState>;
  /** A serialized fenced write (writes.ts). */
  write(fn: (s: DbState) => DbChanges): Promise<DbState>;
  /** Calls to other daos_servers. */
  fanout: Fanout;
  log(msg: string): void;
  /** The time stamped on member updates (RFC 3339); tests fix it. */
  now(): string;
}
