/**
 * The RAS event log and its batching against the in-memory log store: the bound drops the
 * oldest, a burst shares transactions, a reader's cursor resumes across a leader change without
 * losing or repeating entries, a lost reply does not duplicate a batch, a deposed leader cannot
 * write; and the events the MS raises from a committed write.
 */
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { NilRank } from "../../lib/rankset.ts";
import { cloneState, emptyState } from "../db.ts";
import { eventFilter } from "../management_service.ts";
import { type LogKind, type LogStore, MemoryLogStore } from "../store_log.ts";
import { member } from "../testing/fixture.ts";
import {
  AppendLog,
  decodeEvent,
  encodeEvent,
  joinFailedEvent,
  leaderChangedEvent,
  MAX_BATCH,
  MAX_EVENT_TEXT,
  RasEventId,
  rasEventName,
  RasSeverity,
  stateChangeEvents,
} from "./ras_log.ts";

/** An AppendLog of `kind` over `store` keeping `keep` entries. */
function appendLog(store: LogStore, keep = 10_000, logs: string[] = []): AppendLog {
  return new AppendLog("events", {
    store: () => store,
    keep: () => keep,
    log: (m) => logs.push(m),
  });
}

/** The view of one replica of a shared store: it leads while `leader()` names it. */
function replicaView(store: MemoryLogStore, name: string, leader: () => string): LogStore {
  return {
    isLeader: () => leader() === name,
    lastSeq: (k: LogKind) => store.lastSeq(k),
    append: (k, first, values, keep) =>
      leader() === name ? store.append(k, first, values, keep) : Promise.resolve(false),
    after: (k, after, limit) => store.after(k, after, limit),
    tail: (k, n) => store.tail(k, n),
    isTransient: (e) => store.isTransient(e),
  };
}

const seqs = (xs: { seq: bigint }[]) => xs.map((x) => Number(x.seq));

Deno.test("RAS log bound: the oldest entries are dropped first, the newest kept in order", async () => {
  const cases = [
    { keep: 5, n: 12, want: [8, 9, 10, 11, 12] },
    { keep: 1, n: 3, want: [3] },
    { keep: 10, n: 4, want: [1, 2, 3, 4] },
  ];
  for (const c of cases) {
    const store = new MemoryLogStore();
    const log = appendLog(store, c.keep);
    for (let i = 1; i <= c.n; i++) equal(await log.append(`e${i}`), BigInt(i));
    deepEqual(store.seqs("events").map(Number), c.want, `keep ${c.keep}`);
    deepEqual((await log.read(0n, 0)).map((e) => e.value), c.want.map((i) => `e${i}`));
    deepEqual(seqs(await log.tail(2)), c.want.slice(-2));
  }
});

Deno.test("RAS log batching: a burst of 1000 events is ten transactions, numbered in order", async () => {
  const store = new MemoryLogStore();
  const log = appendLog(store, 600);
  const got = await Promise.all(Array.from({ length: 1000 }, (_, i) => log.append(`e${i}`)));
  equal(store.txns, 1000 / MAX_BATCH);
  deepEqual(got.map(Number), Array.from({ length: 1000 }, (_, i) => i + 1));
  // The bound applies across batches: the newest 600 are kept.
  deepEqual(store.seqs("events").map(Number)[0], 401);
  equal((await log.read(400n, 0))[0].value, "e400");
});

Deno.test("RAS log cursor: a reader resumes on the new leader without loss or duplicates", async () => {
  const store = new MemoryLogStore();
  let leader = "a";
  const a = appendLog(replicaView(store, "a", () => leader));
  const b = appendLog(replicaView(store, "b", () => leader));
  for (let i = 1; i <= 5; i++) await a.append(`a${i}`);
  // A follower read up to 3 on replica a.
  let cursor = 3n;
  const seen: string[] = [];
  const page = async (log: AppendLog) => {
    for (const e of await log.read(cursor, 2)) {
      seen.push(e.value);
      cursor = e.seq;
    }
  };
  await page(a);
  leader = "b";
  b.invalidate(); // as on gaining leadership
  for (let i = 1; i <= 3; i++) await b.append(`b${i}`);
  // The deposed leader's stale next sequence number gets nothing written.
  await rejects(a.append("late"), /not the MS leader/);
  await page(b);
  await page(b);
  await page(b);
  deepEqual(seen, ["a4", "a5", "b1", "b2", "b3"]);
  equal(cursor, 8n);
  deepEqual(store.seqs("events").map(Number), [1, 2, 3, 4, 5, 6, 7, 8]);
});

Deno.test("RAS log: a transient failure is retried, a lost reply does not duplicate the batch", async () => {
  const store = new MemoryLogStore();
  const logs: string[] = [];
  const log = appendLog(store, 100, logs);
  store.failAppends(1);
  equal(await log.append("x"), 1n);
  store.failAppends(1, { applied: true });
  const two = await Promise.all([log.append("y"), log.append("z")]);
  deepEqual(two, [2n, 3n]);
  equal(await log.append("w"), 4n);
  deepEqual((await log.read(0n, 0)).map((e) => e.value), ["x", "y", "z", "w"]);
  ok(logs.some((l) => /transient etcd error, retrying/.test(l)), logs.join("\n"));
  // Not leading: refused, nothing written.
  store.leading = false;
  await rejects(log.append("v"), /not the MS leader/);
  equal(store.seqs("events").length, 4);
});

Deno.test("RAS log followers wake at the next append (or time out)", async () => {
  const store = new MemoryLogStore();
  const log = appendLog(store);
  const t0 = Date.now();
  const woke = log.changed(5000);
  await log.append("x");
  await woke;
  ok(Date.now() - t0 < 1000, "woken by the append");
  const t1 = Date.now();
  await log.changed(30);
  ok(Date.now() - t1 >= 25, "timed out");
  const ac = new AbortController();
  const aborted = log.changed(5000, ac.signal);
  ac.abort();
  await aborted;
});

Deno.test("rank state changes of a commit become events with host, rank and reason", () => {
  const base = emptyState();
  base.members.set(member(1, 1, "joined").uuid, member(1, 1, "joined"));
  base.members.set(member(2, 2, "joined").uuid, member(2, 2, "joined"));
  base.members.set(member(3, 2, "stopped").uuid, member(3, 2, "stopped"));
  const next = cloneState(base);
  next.members.set(
    member(1, 1, "unknown").uuid,
    member(1, 1, "unresponsive", { info: "host 10.0.0.1:10001 did not answer", incarnation: "7" }),
  );
  next.members.delete(member(3, 2, "unknown").uuid);
  next.members.set(member(4, 3, "unknown").uuid, member(4, 3, "joined"));
  const evs = stateChangeEvents(base, next, "T");
  deepEqual(
    evs.map((e) => [e.id, e.rank, e.hostname, e.incarnation, e.severity, e.msg, e.timestamp]),
    [
      [
        RasEventId.RANK_STATE_CHANGED,
        1,
        "10.0.0.1",
        7n,
        RasSeverity.ERROR,
        "rank 1 joined -> unresponsive: host 10.0.0.1:10001 did not answer",
        "T",
      ],
      [
        RasEventId.RANK_STATE_CHANGED,
        3,
        "10.0.0.2",
        1n,
        RasSeverity.NOTICE,
        "rank 3 stopped -> removed",
        "T",
      ],
      [
        RasEventId.RANK_STATE_CHANGED,
        4,
        "10.0.0.3",
        1n,
        RasSeverity.NOTICE,
        "rank 4 new -> joined",
        "T",
      ],
    ],
  );
  deepEqual(stateChangeEvents(base, cloneState(base), "T"), []);
});

Deno.test("MS events: leader change, join failure; names; stored form round-trips", () => {
  const lead = leaderChangedEvent("10.0.0.2:10001", "T");
  deepEqual([lead.id, lead.hostname, lead.rank, lead.msg], [
    RasEventId.MS_LEADER_CHANGED,
    "10.0.0.2",
    NilRank,
    "MS leadership gained by replica 10.0.0.2:10001",
  ]);
  const join = joinFailedEvent(
    { rank: 4, addr: "10.0.0.3:10001", incarnation: 9n },
    new Error("uuid taken"),
    "T",
  );
  deepEqual([join.id, join.rank, join.hostname, join.msg], [
    26,
    4,
    "10.0.0.3",
    "join refused: uuid taken",
  ]);
  deepEqual(
    [2, 17, 26, 30, 1000, 1001, 1100, 77].map(rasEventName),
    [
      "engine_died",
      "swim_rank_dead",
      "engine_join_failed",
      "device_led_set",
      "rank_state_changed",
      "ms_leader_changed",
      "audit_record",
      "ras_event_77",
    ],
  );
  const back = decodeEvent({ seq: 3n, value: encodeEvent(join) });
  deepEqual([back.id, back.rank, back.hostname, back.incarnation, back.msg], [
    26,
    4,
    "10.0.0.3",
    9n,
    join.msg,
  ]);
  ok(/unreadable event 4/.test(decodeEvent({ seq: 4n, value: "{" }).msg));
});

Deno.test("SystemGetEvents filter: since and ranks", () => {
  const ev = (rank: number, timestamp: string) => ({
    ...leaderChangedEvent("h:1", timestamp),
    rank,
  });
  const cases: [string, string, number, string, boolean][] = [
    ["", "", 3, "2026-01-01T00:00:00Z", true],
    ["2026-01-01T00:00:01Z", "", 3, "2026-01-01T00:00:00Z", false],
    ["2026-01-01T00:00:00Z", "", 3, "2026-01-01T00:00:00.000Z", true],
    ["", "1-3", 3, "x", true],
    ["", "1-2", 3, "x", false],
  ];
  for (const [since, ranks, rank, ts, want] of cases) {
    equal(eventFilter(since, ranks)(ev(rank, ts)), want, `${since}|${ranks}|${rank}|${ts}`);
  }
  throws(() => eventFilter("yesterday", ""), /invalid since time "yesterday": use an RFC 3339/);
});

Deno.test("RAS log: a megabyte message is stored cut; big entries split batches by bytes", async () => {
  const ev = leaderChangedEvent("h:1", "T");
  ev.msg = "m".repeat(1_400_000);
  const back = decodeEvent({ seq: 1n, value: encodeEvent(ev) });
  equal(back.msg.length, MAX_EVENT_TEXT);
  ok(back.msg.endsWith(" ... (1400000 characters)"), back.msg.slice(-40));
  ok(encodeEvent(ev).length < 2 * MAX_EVENT_TEXT);
  const store = new MemoryLogStore();
  const log = appendLog(store);
  // Ten entries of 200 KB: at most two per 512 KiB transaction.
  await Promise.all(Array.from({ length: 10 }, (_, i) => log.append(`${i}`.repeat(200_000))));
  equal(store.txns, 5);
  deepEqual(store.seqs("events").map(Number), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});
