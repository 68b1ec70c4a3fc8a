/**
 * The leader's liveness probing of member hosts (design choice, README.md "Failure detection"):
 * every `intervalMs` it probes the control address of every host with a live or Unresponsive
 * member; a host silent for `deadAfterMs` has its live ranks marked Unresponsive, and a host
 * that answers with an Unresponsive rank's engine ready under the same incarnation gets that
 * rank back as Joined ("Recovery of Unresponsive ranks").
 */
import type { MemberStateWireName } from "../lib/states.ts";
import { isLegalTransition } from "../lib/states.ts";
import { type DbChanges, type DbState, noChanges } from "./db.ts";
import { type Fanout, type LocalRank, probeHost } from "./fanout.ts";
import { addrHost, type Member } from "./member.ts";

/** States of the members whose hosts are watched (a silent host makes them Unresponsive). */
const WATCHED: readonly MemberStateWireName[] = [
  "joined",
  "ready",
  "starting",
  "stopping",
  "checkerstarted",
];

/**
 * Members on `addr` the MS holds Unresponsive although the host reports their engine ready with
 * the same incarnation (a false positive of the probe or a healed partition), back as Joined:
 * what a Join of that very engine would record. Pure; the leader commits the result.
 */
export function restoredMembers(
  members: Iterable<Member>,
  addr: string,
  ranks: LocalRank[],
  now: string,
): Member[] {
  const ready = new Map(
    ranks.filter((r) => r.state === "ready" && r.incarnation !== 0n).map((r) => [
      r.rank,
      r.incarnation,
    ]),
  );
  const out: Member[] = [];
  for (const m of members) {
    if (m.addr !== addr || m.state !== "unresponsive") continue;
    const inc = ready.get(m.rank);
    if (inc === undefined || inc.toString() !== m.incarnation) continue;
    out.push({ ...m, state: "joined", info: "", last_update: now });
  }
  return out;
}

/**
 * The member updates of one probe round: watched members on `dead` hosts → Unresponsive, and
 * the members restored from the `reports` of hosts holding Unresponsive ranks.
 */
export function probeChanges(
  s: DbState,
  dead: string[],
  reports: Map<string, LocalRank[]>,
  now: string,
): { changes: DbChanges; lost: Member[]; restored: Member[] } {
  const cur = [...s.members.values()];
  const lost: Member[] = cur
    .filter((m) => dead.includes(m.addr) && WATCHED.includes(m.state))
    .filter((m) => isLegalTransition(m.state, "unresponsive"))
    .map((m) => ({
      ...m,
      state: "unresponsive" as const,
      info: `daos_server at ${addrHost(m.addr)} unreachable`,
      last_update: now,
    }));
  const restored = [...reports].flatMap(([addr, ranks]) => restoredMembers(cur, addr, ranks, now));
  return { changes: { ...noChanges(), put: [...lost, ...restored] }, lost, restored };
}

/** What the prober needs from the MS. */
export interface LivenessDeps {
  fanout: Fanout;
  /** Probe period (ms). */
  intervalMs: number;
  /** How long a host may stay silent before its ranks are Unresponsive (ms). */
  deadAfterMs: number;
  /** True while this replica leads with a running database. */
  isLeading(): boolean;
  /** The leader's state (cached, else read). */
  snapshot(): Promise<DbState>;
  /** A serialized fenced write (writes.ts). */
  write(fn: (s: DbState) => DbChanges): Promise<DbState>;
  log(msg: string): void;
}

/** The leader's periodic host probe. */
export class Liveness {
  #timer: ReturnType<typeof setInterval> | null = null;
  #probing = false;
  #lastSeen = new Map<string, number>();

  constructor(private readonly deps: LivenessDeps) {}

  /** Starts probing afresh (every host gets a new grace period). */
  start(): void {
    this.stop();
    this.#lastSeen.clear();
    this.#timer = setInterval(() => {
      if (this.#probing) return;
      this.#probing = true;
      this.probeOnce().catch((e) => this.deps.log(`host probe: ${e}`)).finally(() => {
        this.#probing = false;
      });
    }, this.deps.intervalMs);
  }

  /** Stops probing. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /**
   * Probes every host with a live or Unresponsive member: hosts silent for deadAfterMs get
   * their live members marked Unresponsive; hosts that answer get their Unresponsive members
   * whose engine still runs (same incarnation, ready) restored to Joined.
   */
  async probeOnce(): Promise<void> {
    if (!this.deps.isLeading()) return;
    const state = await this.deps.snapshot();
    const members = [...state.members.values()];
    const live = new Set(members.filter((m) => WATCHED.includes(m.state)).map((m) => m.addr));
    const lost = new Set(members.filter((m) => m.state === "unresponsive").map((m) => m.addr));
    // A host not watched last round starts a fresh grace period: an old "last seen" would
    // make its first missed probe fatal (e.g. right after its ranks rejoin).
    for (const addr of [...this.#lastSeen.keys()]) {
      if (!live.has(addr)) this.#lastSeen.delete(addr);
    }
    const timeout = Math.min(this.deps.intervalMs, 1000);
    const now = Date.now();
    const dead: string[] = [];
    const reports = new Map<string, LocalRank[]>();
    await Promise.all([...new Set([...live, ...lost])].map(async (addr) => {
      if (live.has(addr) && !this.#lastSeen.has(addr)) this.#lastSeen.set(addr, now);
      const answer = await probeHost(this.deps.fanout, addr, timeout);
      if (answer) {
        if (live.has(addr)) this.#lastSeen.set(addr, Date.now());
        if (answer.ranks && lost.has(addr)) reports.set(addr, answer.ranks);
      } else if (
        live.has(addr) && Date.now() - this.#lastSeen.get(addr)! > this.deps.deadAfterMs
      ) {
        dead.push(addr);
      }
    }));
    if (dead.length === 0 && reports.size === 0) return;
    const ts = new Date().toISOString();
    let restored: Member[] = [];
    let lostRanks: Member[] = [];
    await this.deps.write((s) => {
      const round = probeChanges(s, dead, reports, ts);
      restored = round.restored;
      lostRanks = round.lost;
      return round.changes;
    });
    if (lostRanks.length > 0) {
      this.deps.log(
        `ranks ${lostRanks.map((m) => m.rank).join(",")} unresponsive: no answer from ${
          dead.join(", ")
        } for over ${this.deps.deadAfterMs} ms`,
      );
    }
    for (const m of restored) {
      this.deps.log(`rank ${m.rank} on ${m.addr} restored to joined: its engine still runs`);
    }
  }
}
