/**
 * The leader's join queue (server.md §2.5): concurrent JoinReqs are committed together, up to
 * {@link MAX_JOINS_PER_TXN} per transaction; each request gets its own outcome. The rules of
 * one join are join.ts's.
 */
import type { DbChanges, DbState } from "../db.ts";
import { ATTR_GROUP_UPDATE_PAUSED, mayResume } from "../group_update.ts";
import { applyJoin, Draft, type JoinInput, type JoinOutcome } from "../join.ts";

/** Joins per transaction: etcd --max-txn-ops defaults to 128. */
export const MAX_JOINS_PER_TXN = 100;

/** A join's answer: its outcome and the map version that recorded it. */
export type JoinResult = JoinOutcome & { mapVersion: number };

interface PendingJoin {
  input: JoinInput;
  peerHost?: string;
  resolve: (o: JoinResult) => void;
  reject: (e: unknown) => void;
}

/** What the queue needs from the MS. */
export interface JoinQueueDeps {
  /** A serialized fenced write (writes.ts). */
  write(fn: (s: DbState) => DbChanges): Promise<DbState>;
  /** Called after a batch in which a join succeeded (an immediate group update). */
  onJoined(): void;
  /** The time stamped on member records (RFC 3339). */
  now(): string;
}

/**
 * The changes a batch of joins makes of `s`, and each join's outcome or error. Paused group
 * updates resume once every member is back (§2.5 step 7). Deterministic for a given state.
 */
export function joinBatch(
  s: DbState,
  batch: { input: JoinInput; peerHost?: string }[],
  now: string,
): { changes: DbChanges; outcomes: (JoinOutcome | Error)[] } {
  const draft = new Draft({
    ...s,
    members: new Map([...s.members].map(([k, m]) => [k, { ...m }])),
    attrs: new Map(s.attrs),
  });
  const outcomes = batch.map((j) => {
    try {
      return applyJoin(draft, j.input, now, j.peerHost);
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  });
  if (
    draft.state.attrs.get(ATTR_GROUP_UPDATE_PAUSED) === "true" &&
    mayResume(draft.state.members.values())
  ) draft.changes.attrs[ATTR_GROUP_UPDATE_PAUSED] = "";
  return { changes: draft.changes, outcomes };
}

/** The leader's queue of joins, drained in batches by one loop at a time. */
export class JoinQueue {
  #joins: PendingJoin[] = [];
  #draining = false;

  constructor(private readonly deps: JoinQueueDeps) {}

  /** Queues a validated join; resolves when its batch committed (or with its own error). */
  submit(input: JoinInput, peerHost?: string): Promise<JoinResult> {
    return new Promise((resolve, reject) => {
      this.#joins.push({ input, peerHost, resolve, reject });
      if (!this.#draining) this.#drain();
    });
  }

  /** Fails every join not yet in a batch with `e` (the replica stops leading). */
  rejectAll(e: unknown): void {
    for (const j of this.#joins.splice(0)) j.reject(e);
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#joins.length > 0) {
        const batch = this.#joins.splice(0, MAX_JOINS_PER_TXN);
        const now = this.deps.now();
        let outcomes: (JoinOutcome | Error)[] = [];
        try {
          const state = await this.deps.write((s) => {
            const b = joinBatch(s, batch, now);
            outcomes = b.outcomes;
            return b.changes;
          });
          batch.forEach((j, i) => {
            const o = outcomes[i];
            if (o instanceof Error) j.reject(o);
            else j.resolve({ ...o, mapVersion: state.mapVersion });
          });
          if (outcomes.some((o) => !(o instanceof Error))) this.deps.onJoined();
        } catch (e) {
          for (const j of batch) j.reject(e);
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}
