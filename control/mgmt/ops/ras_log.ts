/**
 * The MS leader's RAS event log (and, with another kind, its audit trail): entries queued by
 * whoever raises them, written to the {@link LogStore} in batches (one transaction for up to
 * {@link MAX_BATCH} entries: a burst of 1000 events is ten transactions, not a thousand), each
 * under the next sequence number, the oldest dropped beyond the configured bound. Readers
 * (SystemGetEvents, SystemFollowEvents) page by sequence number, the cursor a client keeps
 * across leaders.
 *
 * Also the events the MS itself raises (server.md §5.5 fields): rank state changes seen in a
 * committed write, MS leadership changes, refused joins.
 */
import { create, fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { type RASEvent, RASEventSchema } from "../../../proto/gen/ts/shared/event_pb.ts";
import { RasSeverity, RasType } from "../../harness/events.ts";
import { errorText } from "../../lib/fault.ts";
import { NilRank } from "../../lib/rankset.ts";
import type { DbState } from "../db.ts";
import type { Member } from "../member.ts";
import type { LogEntry, LogKind, LogStore } from "../store_log.ts";

/** Entries written per transaction (etcd's default --max-txn-ops is 128; one op trims). */
export const MAX_BATCH = 100;
/** Bytes of entries per transaction (etcd refuses requests over 1.5 MiB by default). */
export const MAX_BATCH_BYTES = 512 * 1024;
/** Longest text field of a stored event: a forwarded 1 MiB message is cut, not refused. */
export const MAX_EVENT_TEXT = 4096;
/** Default bound of each log (mgmt_svc_db `ras_log_size` / `audit_log_size`). */
export const DEFAULT_LOG_SIZE = 10_000;
/** How long a batch failing transiently is retried while leading (ms). */
const RETRY_MS = 3000;

/** RAS event types and severities (server.md §5.5), as the harness raises them. */
export { RasSeverity, RasType };

/** Event ids (server.md §5.5 enum order) and ours, beyond the reference's range. */
export const RasEventId = {
  ENGINE_DIED: 2,
  SWIM_RANK_DEAD: 17,
  ENGINE_JOIN_FAILED: 26,
  /** Ours: the MS changed a rank's state (stop, start, exclude, unresponsive, ...). */
  RANK_STATE_CHANGED: 1000,
  /** Ours: a replica became MS leader. */
  MS_LEADER_CHANGED: 1001,
  /** Ours: an audit record forwarded by a server (str_info = the record's JSON). */
  AUDIT_RECORD: 1100,
} as const;

/** Names of the reference's event ids (server.md §5.5) and ours, for logs and dmg. */
const EVENT_NAMES = [
  "unknown_ras_event",
  "engine_format_required",
  "engine_died",
  "engine_asserted",
  "engine_clock_drift",
  "engine_self_terminated",
  "pool_corruption_detected",
  "pool_rebuild_started",
  "pool_rebuild_finished",
  "pool_rebuild_failed",
  "pool_replicas_updated",
  "pool_durable_format_incompatible",
  "pool_destroy_deferred",
  "pool_start_failed",
  "container_durable_format_incompatible",
  "rdb_durable_format_incompatible",
  "swim_rank_alive",
  "swim_rank_dead",
  "system_start_failed",
  "system_stop_failed",
  "device_set_faulty",
  "device_media_error",
  "device_unplugged",
  "device_plugged",
  "device_replace",
  "system_fabric_provider_changed",
  "engine_join_failed",
  "device_link_speed_changed",
  "device_link_width_changed",
  "obj_csum_error",
  "device_led_set",
];

/** The name of event id `id`. */
export function rasEventName(id: number): string {
  if (id === RasEventId.RANK_STATE_CHANGED) return "rank_state_changed";
  if (id === RasEventId.MS_LEADER_CHANGED) return "ms_leader_changed";
  if (id === RasEventId.AUDIT_RECORD) return "audit_record";
  return EVENT_NAMES[id] ?? `ras_event_${id}`;
}

/** One line of the control log for event `ev`. */
export function describeEvent(ev: RASEvent): string {
  const sev = ["unknown", "error", "warning", "notice"][ev.severity] ?? String(ev.severity);
  const rank = ev.rank === NilRank ? "" : ` rank ${ev.rank}`;
  return `RAS ${rasEventName(ev.id)} [${sev}] ${ev.hostname || "-"}${rank}: ${ev.msg}`;
}

/** The host part of a control address ("10.0.0.1:10001" → "10.0.0.1"). */
function hostOf(addr: string): string {
  const i = addr.lastIndexOf(":");
  return i > 0 ? addr.slice(0, i) : addr;
}

/** Severity of a rank entering `state`. */
function stateSeverity(state: string): number {
  switch (state) {
    case "errored":
    case "excluded":
    case "unresponsive":
      return RasSeverity.ERROR;
    case "adminexcluded":
    case "stopped":
    case "stopping":
      return RasSeverity.WARNING;
    default:
      return RasSeverity.NOTICE;
  }
}

/**
 * One `rank_state_changed` event per member whose state a commit changed (new members
 * included; members removed as "removed"), with the member's host, rank, incarnation and the
 * reason the write recorded (`info`).
 */
export function stateChangeEvents(base: DbState, next: DbState, now: string): RASEvent[] {
  const out: RASEvent[] = [];
  const ev = (m: Member, from: string, to: string) =>
    create(RASEventSchema, {
      id: RasEventId.RANK_STATE_CHANGED,
      msg: `rank ${m.rank} ${from} -> ${to}${m.info ? `: ${m.info}` : ""}`,
      timestamp: now,
      type: RasType.STATE_CHANGE,
      severity: stateSeverity(to),
      hostname: hostOf(m.addr),
      rank: m.rank,
      incarnation: BigInt(m.incarnation),
      extendedInfo: { case: "strInfo", value: to },
    });
  for (const [uuid, m] of next.members) {
    const was = base.members.get(uuid);
    if (was?.state === m.state) continue;
    out.push(ev(m, was?.state ?? "new", m.state));
  }
  for (const [uuid, m] of base.members) {
    if (!next.members.has(uuid)) out.push(ev(m, m.state, "removed"));
  }
  return out.sort((a, b) => a.rank - b.rank);
}

/** `ms_leader_changed`: replica `self` now leads. */
export function leaderChangedEvent(self: string, now: string): RASEvent {
  return create(RASEventSchema, {
    id: RasEventId.MS_LEADER_CHANGED,
    msg: `MS leadership gained by replica ${self}`,
    timestamp: now,
    type: RasType.INFO,
    severity: RasSeverity.NOTICE,
    hostname: hostOf(self),
    rank: NilRank,
  });
}

/** `engine_join_failed`: the MS refused a join of `rank` (Nil for a new one) from `addr`. */
export function joinFailedEvent(
  j: { rank: number; addr: string; incarnation: bigint },
  err: unknown,
  now: string,
): RASEvent {
  return create(RASEventSchema, {
    id: RasEventId.ENGINE_JOIN_FAILED,
    msg: `join refused: ${errorText(err)}`,
    timestamp: now,
    type: RasType.INFO,
    severity: RasSeverity.ERROR,
    hostname: hostOf(j.addr),
    rank: j.rank,
    incarnation: j.incarnation,
  });
}

/** `text` cut to {@link MAX_EVENT_TEXT} characters, saying how long it was. */
export function cut(text: string): string {
  if (text.length <= MAX_EVENT_TEXT) return text;
  const note = ` ... (${text.length} characters)`;
  return text.slice(0, MAX_EVENT_TEXT - note.length) + note;
}

/**
 * Stored form of an event (the proto's JSON, every field kept; the message and the other
 * free-text fields cut to {@link MAX_EVENT_TEXT}, so that one event cannot exceed what etcd
 * takes in a transaction).
 */
export function encodeEvent(ev: RASEvent): string {
  const c = create(RASEventSchema, {
    ...ev,
    msg: cut(ev.msg),
    hostname: cut(ev.hostname),
    hwId: cut(ev.hwId),
    jobId: cut(ev.jobId),
    poolUuid: cut(ev.poolUuid),
    contUuid: cut(ev.contUuid),
    objId: cut(ev.objId),
    ctlOp: cut(ev.ctlOp),
    timestamp: cut(ev.timestamp),
  });
  if (c.extendedInfo.case === "strInfo" && ev.id !== RasEventId.AUDIT_RECORD) {
    c.extendedInfo = { case: "strInfo", value: cut(c.extendedInfo.value) };
  }
  return toJsonString(RASEventSchema, c);
}

/** An event as stored; an unreadable entry (written by hand) becomes an event saying so. */
export function decodeEvent(e: LogEntry): RASEvent {
  try {
    return fromJsonString(RASEventSchema, e.value, { ignoreUnknownFields: true });
  } catch (err) {
    return create(RASEventSchema, {
      msg: `unreadable event ${e.seq}: ${errorText(err)}`,
      rank: NilRank,
      severity: RasSeverity.WARNING,
    });
  }
}

/** What {@link AppendLog} works with. */
export interface AppendLogDeps {
  /** The running replica's log store; throws when the database side is not running. */
  store(): LogStore;
  /** The bound (entries kept), read at each batch so a changed setting applies. */
  keep(): number;
  log(msg: string): void;
  /** Entries per transaction (default {@link MAX_BATCH}). */
  maxBatch?: number;
}

interface Pending {
  value: string;
  done: PromiseWithResolvers<bigint>;
}

/** Batched, fenced appends to one log and wake-ups for the readers following it. */
export class AppendLog {
  #pending: Pending[] = [];
  #next: bigint | null = null;
  #flushing = false;
  #waiters = new Set<() => void>();

  constructor(readonly kind: LogKind, private readonly deps: AppendLogDeps) {}

  /**
   * Queues `value`; resolves with its sequence number once stored (rejects when it could not
   * be: leadership lost, the store down past the retry time). Entries queued together share
   * transactions.
   */
  append(value: string): Promise<bigint> {
    const done = Promise.withResolvers<bigint>();
    this.#pending.push({ value, done });
    this.#schedule();
    return done.promise;
  }

  /**
   * Starts a flush on the next macrotask (so a burst raised in one go shares its
   * transactions) unless one runs; entries queued while it ends get a flush of their own.
   */
  #schedule(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    setTimeout(() => {
      this.#flush().finally(() => {
        this.#flushing = false;
        if (this.#pending.length > 0) this.#schedule();
      });
    }, 0);
  }

  /** Forgets the next sequence number (leadership changed: read it again before writing). */
  invalidate(): void {
    this.#next = null;
  }

  /** Resolves at the next successful append, or after `ms`, or when `signal` aborts. */
  changed(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Entries after `after` (oldest first, at most `limit`, 0: all) from the store. */
  read(after: bigint, limit: number): Promise<LogEntry[]> {
    return this.deps.store().after(this.kind, after, limit);
  }

  /** The newest `n` entries, oldest first. */
  tail(n: number): Promise<LogEntry[]> {
    return this.deps.store().tail(this.kind, n);
  }

  async #flush(): Promise<void> {
    const max = this.deps.maxBatch ?? MAX_BATCH;
    while (this.#pending.length > 0) {
      // At most `max` entries and MAX_BATCH_BYTES (but always one).
      let n = 0;
      let bytes = 0;
      while (n < this.#pending.length && n < max) {
        bytes += this.#pending[n].value.length;
        if (n > 0 && bytes > MAX_BATCH_BYTES) break;
        n++;
      }
      const batch = this.#pending.splice(0, n);
      try {
        const first = await this.#write(batch.map((p) => p.value));
        batch.forEach((p, i) => p.done.resolve(first + BigInt(i)));
        for (const w of [...this.#waiters]) w();
      } catch (e) {
        for (const p of batch) p.done.reject(e);
      }
    }
  }

  /** Writes one batch; the first sequence number it got. */
  async #write(values: string[]): Promise<bigint> {
    const until = Date.now() + RETRY_MS;
    for (let attempt = 1;; attempt++) {
      const store = this.deps.store();
      if (!store.isLeader()) throw new Error(`${this.kind} not stored: not the MS leader`);
      try {
        this.#next ??= (await store.lastSeq(this.kind)) + 1n;
        const first = this.#next;
        if (await store.append(this.kind, first, values, this.deps.keep())) {
          this.#next = first + BigInt(values.length);
          return first;
        }
        // Taken or fenced: someone else wrote (a former leader's late commit); read again.
        this.#next = null;
        if (!store.isLeader() || attempt >= 5) {
          throw new Error(`${this.kind} not stored: not the MS leader`);
        }
      } catch (e) {
        const first = this.#next;
        this.#next = null;
        if (!store.isTransient(e) || Date.now() >= until) throw e;
        // A reply lost after the write applied: the entries are there under `first`...
        const last = await store.lastSeq(this.kind).catch(() => null);
        if (first !== null && last !== null && last >= first + BigInt(values.length) - 1n) {
          // ...and only this leader writes while it leads (the fence), so they are ours.
          this.#next = last + 1n;
          return first;
        }
        this.deps.log(`MS ${this.kind} log: transient etcd error, retrying: ${errorText(e)}`);
        await new Promise((r) => setTimeout(r, Math.min(20 * 2 ** attempt, 200)));
      }
    }
  }
}
