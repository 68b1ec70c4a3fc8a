/**
 * The MS leader's group updates (spec/server.md §2.7–2.8, §5.5): the system group map (rank,
 * fabric URI, incarnation of every member the fabric should know) pushed to the engines.
 * Immediate updates (after a join batch with a success, after gaining leadership) first raise
 * the map version with a fenced write; lazy ones (flagged, sent on the 500 ms tick) do not. An
 * update is skipped when its version equals the last one sent, refused when the version went
 * backwards, and suppressed while the attribute mgmt.group_update_paused is "true".
 *
 * Delivery (ours): the reference hands the map to one local engine that broadcasts it over
 * CaRT; we have no CaRT, so the leader sends it to every host holding a member of the map, and
 * (best effort) to hosts holding excluded members, whose engines must see that they are out
 * (CtlSvc.GroupUpdate); each host forwards it to its ready engines.
 */
import { create } from "@bufbuild/protobuf";
import {
  type GroupUpdateReq,
  GroupUpdateReq_EngineSchema,
  GroupUpdateReqSchema,
} from "../../proto/gen/ts/mgmt/srv_pb.ts";
import type { RankResult } from "../../proto/gen/ts/shared/ranks_pb.ts";
import { fabricUriProblem, rankProblem } from "../lib/member_fields.ts";
import type { DbState } from "./db.ts";
import type { MemberStateWireName } from "../lib/states.ts";
import type { Member } from "./member.ts";

/** System attribute that suppresses group updates while "true". */
export const ATTR_GROUP_UPDATE_PAUSED = "mgmt.group_update_paused";
/** Period of the lazy group update tick. */
export const GROUP_UPDATE_TICK_MS = 500;

const LEFT_OUT: ReadonlySet<MemberStateWireName> = new Set([
  "awaitformat",
  "excluded",
  "adminexcluded",
]);

/**
 * Members that belong in the group map, by rank. One an engine would refuse (no rank, a URI it
 * cannot hold, a rank already listed) is left out, since the whole map is refused for one bad
 * entry.
 */
export function mapMembers(members: Iterable<Member>): Member[] {
  const inMap = [...members]
    .filter((m) =>
      !LEFT_OUT.has(m.state) && rankProblem(m.rank) === null && m.fabric_uri !== "" &&
      fabricUriProblem(m.fabric_uri) === null
    )
    .sort((a, b) => a.rank - b.rank || a.uuid.localeCompare(b.uuid));
  // A rank listed twice makes every host refuse the map: keep one (the database sets such
  // members aside on read; this guards maps built from anything else).
  return inMap.filter((m, i) => i === 0 || inMap[i - 1].rank !== m.rank);
}

/**
 * The GroupUpdateReq of system `sys` for `members` at `mapVersion`; throws when nobody is in
 * the map.
 */
export function groupMap(
  members: Iterable<Member>,
  mapVersion: number,
  sys: string,
): GroupUpdateReq {
  const inMap = mapMembers(members);
  if (inMap.length === 0) throw new Error("empty group map (all ranks excluded?)");
  return create(GroupUpdateReqSchema, {
    sys,
    mapVersion,
    engines: inMap.map((m) =>
      create(GroupUpdateReq_EngineSchema, {
        rank: m.rank,
        uri: m.fabric_uri,
        incarnation: BigInt(m.incarnation),
      })
    ),
  });
}

/** Control addresses of the hosts holding a member of the map, sorted. */
export function mapHosts(members: Iterable<Member>): string[] {
  return [...new Set(mapMembers(members).map((m) => m.addr))].sort();
}

/** Control addresses of the hosts holding an Excluded or AdminExcluded member, sorted. */
export function excludedHosts(members: Iterable<Member>): string[] {
  const out = [...members].filter((m) => m.state === "excluded" || m.state === "adminexcluded");
  return [...new Set(out.map((m) => m.addr))].sort();
}

/** True when the members' state lets paused group updates resume (§2.5 step 7). */
export function mayResume(members: Iterable<Member>): boolean {
  return [...members].every((m) => m.state === "joined" || m.state === "adminexcluded");
}

/** What the updater needs from the management service. */
export interface GroupUpdaterDeps {
  /** The system name the maps carry. */
  system: string;
  /** The leader's current database state. */
  state(): Promise<DbState>;
  /** Fenced write raising the map version by one; returns the new state. */
  bumpMapVersion(): Promise<DbState>;
  /** Delivers the map to one host (CtlSvc.GroupUpdate); throws when the host failed. */
  send(addr: string, req: GroupUpdateReq): Promise<RankResult[]>;
  log(msg: string): void;
  /**
   * Told, once per map version this updater committed, the seconds from that commit until every
   * host of the map held it (retries included). Versions committed elsewhere (a previous leader)
   * have no known commit time and are not reported.
   */
  onDelivered?(version: number, lagSeconds: number): void;
}

/** The leader's group update task: one at a time, immediate on request or lazy on the tick. */
export class GroupUpdater {
  #lastSent = 0;
  #flagged = false;
  #immediate = false;
  #timer: ReturnType<typeof setInterval> | null = null;
  #running: Promise<void> | null = null;
  #lastError = "";
  #halted = false;
  /** Commit times (performance.now()) of versions bumped here and not yet delivered. */
  #committedAt = new Map<number, number>();
  /** Callers of {@link delivered} waiting for a version to reach every host. */
  #waiters = new Set<{ version: number; done: (ok: boolean) => void }>();

  constructor(private readonly deps: GroupUpdaterDeps) {}

  /** Version of the last map delivered to every host (0 when none). */
  lastSent(): number {
    return this.#lastSent;
  }

  /**
   * Resolves true once the map of `version` or later has reached every host, false when this
   * updater stops first (leadership lost, erase) or after `timeoutMs`.
   */
  delivered(version: number, timeoutMs: number): Promise<boolean> {
    if (this.#lastSent >= version) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = {
        version,
        done: (ok: boolean) => {
          clearTimeout(timer);
          this.#waiters.delete(w);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => w.done(false), timeoutMs);
      this.#waiters.add(w);
    });
  }

  /** Starts the lazy tick (on gaining leadership). */
  start(tickMs = GROUP_UPDATE_TICK_MS): void {
    this.stop();
    this.#halted = false;
    this.#timer = setInterval(() => this.#kick(), tickMs);
  }

  /** Stops the tick and forgets what was sent (leadership lost, database erased). */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#flagged = false;
    this.#immediate = false;
    this.#lastSent = 0;
    this.#committedAt.clear();
    for (const w of [...this.#waiters]) w.done(false);
  }

  /**
   * Stops, refuses further requests until the next start(), and waits for the update in flight
   * (system erase: hosts forget the held map, and a map of the erased system arriving after that
   * would outrank the next system's maps, whose versions start again at 1).
   */
  async halt(): Promise<void> {
    this.#halted = true;
    this.stop();
    await this.idle();
  }

  /** Flags a lazy update: sent on the next tick, without a map version increment. */
  requestLazy(): void {
    this.#flagged = true;
  }

  /** Requests an immediate update (map version increment first); runs in the background. */
  requestImmediate(): void {
    this.#immediate = true;
    this.#kick();
  }

  /** Resolves when no update is running (tests, orderly stop). */
  async idle(): Promise<void> {
    for (let i = 0; i < 1000 && this.#running; i++) await this.#running;
  }

  #kick(): void {
    if (this.#halted || this.#running || (!this.#immediate && !this.#flagged)) return;
    this.#running = this.#runOnce().then(() => {
      this.#lastError = "";
    }, (e) => {
      // A host that stays down would repeat the same complaint every tick: say it once.
      const msg = `group update: ${e instanceof Error ? e.message : String(e)}`;
      if (msg !== this.#lastError) this.deps.log(msg);
      this.#lastError = msg;
      // Whatever failed (reading the state, the version bump, a host), retry on the tick:
      // otherwise a transient etcd error right after a join left the engines on an old map
      // until the next membership change.
      if (!this.#halted) this.#flagged = true;
    }).finally(() => {
      this.#running = null;
      if (this.#immediate) this.#kick(); // requested while this one ran
    });
  }

  async #runOnce(): Promise<void> {
    const immediate = this.#immediate;
    this.#immediate = false;
    this.#flagged = false;
    let s = await this.deps.state();
    if (s.attrs.get(ATTR_GROUP_UPDATE_PAUSED) === "true") return;
    if (mapMembers(s.members.values()).length === 0) {
      throw new Error("empty group map (all ranks excluded?)");
    }
    if (immediate) {
      s = await this.deps.bumpMapVersion();
      this.#committedAt.set(s.mapVersion, performance.now());
    }
    await this.#send(s);
  }

  async #send(s: DbState): Promise<void> {
    const version = s.mapVersion;
    if (version === this.#lastSent) return;
    if (version < this.#lastSent) {
      throw new Error(
        `group map version went backwards: ${version} < last sent ${this.#lastSent}`,
      );
    }
    const req = groupMap(s.members.values(), version, this.deps.system);
    const hosts = mapHosts(s.members.values());
    // Hosts holding only excluded ranks get the map too: their engines learn from it that they
    // were excluded and terminate themselves (server.md §4.4). Best effort: such a host is
    // often the dead one the rank was excluded for, and must not hold the update back.
    const outside = excludedHosts(s.members.values()).filter((a) => !hosts.includes(a));
    const failed: string[] = [];
    await Promise.all([...hosts, ...outside].map(async (addr) => {
      const inMap = hosts.includes(addr);
      try {
        const res = await this.deps.send(addr, req);
        const bad = res.filter((r) => r.errored);
        if (bad.length > 0 && inMap) failed.push(`${addr}: ${bad.map((r) => r.msg).join("; ")}`);
      } catch (e) {
        if (inMap) failed.push(`${addr}: ${e instanceof Error ? e.message : String(e)}`);
        else this.deps.log(`group map ${version} to ${addr} (excluded ranks only): ${e}`);
      }
    }));
    if (failed.length > 0) {
      // Retried on the next tick with the same version (engines ignore repeats).
      this.#flagged = true;
      throw new Error(`map version ${version} not delivered to ${failed.join(", ")}`);
    }
    this.#lastSent = version;
    const at = this.#committedAt.get(version);
    // Older versions were superseded before delivery: their lag is not a delivery's.
    for (const v of this.#committedAt.keys()) if (v <= version) this.#committedAt.delete(v);
    if (at !== undefined) this.deps.onDelivered?.(version, (performance.now() - at) / 1000);
    for (const w of [...this.#waiters]) if (w.version <= version) w.done(true);
    this.deps.log(`group map version ${version} (${req.engines.length} ranks) sent`);
  }
}
