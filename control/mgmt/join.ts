/**
 * Join processing on the MS leader (server.md §2.5–2.6): validate one JoinReq against a draft
 * of the membership database and record the resulting member write. Pure logic: the caller
 * batches several joins into one draft and commits it.
 */
import { checkReplaceRank } from "./pool/service.ts";
import { makeFault } from "../lib/fault.ts";
import { NilRank } from "../lib/rankset.ts";
import {
  controlAddrProblem,
  fabricUriProblem,
  faultDomainProblem,
  MAX_SECONDARY_PROVIDERS,
  quoteInput,
  rankProblem,
  uuidProblem,
} from "../lib/member_fields.ts";
import { MAX_RANK } from "../lib/rankset.ts";
import type { DbChanges, DbState } from "./db.ts";
import { addrHost, type Member, memberProblem } from "./member.ts";

/** The fields of a JoinReq the MS uses (mgmt.JoinReq). */
export interface JoinInput {
  uuid: string;
  rank: number;
  uri: string;
  nctxs: number;
  addr: string;
  srvFaultDomain: string;
  idx: number;
  incarnation: bigint;
  secondaryUris: string[];
  secondaryNctxs: number[];
  checkMode: boolean;
  replace: boolean;
}

/** Outcome of one successful join. */
export interface JoinOutcome {
  rank: number;
  state: "joined" | "checkerstarted";
}

/** System attribute naming the fabric provider(s) of the system. */
export const ATTR_PROVIDERS = "mgmt.fabric_providers";

function rankStr(r: number): string {
  return r === NilRank ? "NilRank" : String(r);
}

/** A Join field that cannot be accepted: fault 400 naming the field and how to fix it. */
function badField(field: string, problem: string, resolution: string) {
  return makeFault("SystemUnknown", `${problem} (JoinReq field ${field})`, resolution);
}

const FIX_ENGINE = "the engine's control plane sent this: check its daos_server version and log";

/**
 * Checks every JoinReq field a member record keeps, before the request is queued: a value that
 * could not be stored, encoded or delivered in a group map is refused with a fault naming the
 * field (the reference's texts where it has them: invalid uuid, no fault domain, no URI).
 */
export function validateJoinInput(req: JoinInput): void {
  const uuid = uuidProblem(req.uuid);
  if (uuid) throw badField("uuid", uuid, "send the engine's superblock uuid");
  if (req.rank !== NilRank) {
    const rank = rankProblem(req.rank);
    if (rank) {
      throw badField("rank", rank, "send the rank from the engine's superblock, or NilRank");
    }
  }
  if (req.uri === "") {
    throw badField("uri", "no primary fabric URI in JoinRequest", FIX_ENGINE);
  }
  const uri = fabricUriProblem(req.uri);
  if (uri) {
    throw badField("uri", uri, "the engine's URI must look like <provider>://<host>:<port>");
  }
  if (req.secondaryUris.length > MAX_SECONDARY_PROVIDERS) {
    throw badField(
      "secondary_uris",
      `${req.secondaryUris.length} secondary fabric URIs, at most ${MAX_SECONDARY_PROVIDERS}`,
      "configure fewer secondary providers",
    );
  }
  for (const u of req.secondaryUris) {
    const p = fabricUriProblem(u);
    if (p) throw badField("secondary_uris", p, "fix the secondary provider configuration");
  }
  if (req.secondaryNctxs.length > MAX_SECONDARY_PROVIDERS) {
    throw badField(
      "secondary_nctxs",
      `${req.secondaryNctxs.length} secondary context counts, at most ${MAX_SECONDARY_PROVIDERS}`,
      FIX_ENGINE,
    );
  }
  const addr = controlAddrProblem(req.addr);
  if (addr) {
    throw badField(
      "addr",
      addr,
      "send the daos_server's control address as <IP or host>:<port> (port 1-65535)",
    );
  }
  if (req.srvFaultDomain === "") {
    throw badField(
      "srv_fault_domain",
      "no fault domain in join request",
      "set fault_path in the server config",
    );
  }
  const fd = faultDomainProblem(req.srvFaultDomain);
  if (fd) {
    throw badField(
      "srv_fault_domain",
      fd,
      "set fault_path in the server config to a path like /rack1/host1 (at most 2 levels)",
    );
  }
}

function storable(m: Member): Member {
  const p = memberProblem(m);
  if (p) throw badField("(member record)", `member ${m.uuid} (rank ${m.rank}): ${p}`, FIX_ENGINE);
  return m;
}

/** Validates a fault domain string ("/a/b"); returns its depth. */
export function faultDomainDepth(fd: string): number {
  if (fd === "") throw new Error("no fault domain in join request");
  if (fd === "/") return 0;
  if (!fd.startsWith("/") || fd.endsWith("/") || fd.split("/").slice(1).some((s) => s === "")) {
    throw new Error(`invalid fault domain "${fd}" (use a path like /rack1/host1)`);
  }
  return fd.split("/").length - 1;
}

/** Mutable view of a draft database plus the changes made to it so far. */
export class Draft {
  readonly changes: DbChanges = { put: [], remove: [], attrs: {}, extraMapIncrements: 0 };
  // Members by rank and by identity, built on first use: a batch of 100 joins against
  // thousands of members must not scan them all for every join.
  #byRank: Map<number, Member[]> | null = null;
  #byIdentity: Map<string, Member[]> | null = null;
  constructor(readonly state: DbState) {}

  byRank(rank: number): Member | undefined {
    return this.#index().byRank.get(rank)?.[0];
  }

  /** Members whose control address, fabric URIs and contexts and fault domain match `req`. */
  withIdentity(req: JoinInput): Member[] {
    return this.#index().byIdentity.get(identityKey(req)) ?? [];
  }

  /** Records a member write (replacing an earlier write of the same uuid in this draft). */
  put(m: Member): void {
    const old = this.state.members.get(m.uuid);
    if (old) this.#unindex(old);
    this.state.members.set(m.uuid, m);
    this.#indexOne(m);
    this.changes.put = this.changes.put.filter((p) => p.uuid !== m.uuid);
    this.changes.put.push(m);
  }

  remove(uuid: string): void {
    const old = this.state.members.get(uuid);
    if (old) this.#unindex(old);
    this.state.members.delete(uuid);
    this.changes.put = this.changes.put.filter((p) => p.uuid !== uuid);
    this.changes.remove.push(uuid);
  }

  #index(): { byRank: Map<number, Member[]>; byIdentity: Map<string, Member[]> } {
    if (!this.#byRank || !this.#byIdentity) {
      this.#byRank = new Map();
      this.#byIdentity = new Map();
      for (const m of this.state.members.values()) this.#indexOne(m);
    }
    return { byRank: this.#byRank!, byIdentity: this.#byIdentity! };
  }

  #indexOne(m: Member): void {
    if (!this.#byRank || !this.#byIdentity) return; // not built yet: built from state later
    push(this.#byRank, m.rank, m);
    push(this.#byIdentity, identityKey(memberIdentity(m)), m);
  }

  #unindex(m: Member): void {
    if (!this.#byRank || !this.#byIdentity) return;
    drop(this.#byRank, m.rank, m.uuid);
    drop(this.#byIdentity, identityKey(memberIdentity(m)), m.uuid);
  }

  /**
   * Issues the next rank. Ranks held by invalid records (see db.ts) are skipped; NextRank
   * never goes past MAX_RANK (4294967294), so an issued rank is always below NilRank.
   */
  takeNextRank(): number {
    const held = new Set(this.state.invalid.map((r) => r.rank));
    let r = this.state.nextRank;
    while (held.has(r) || this.byRank(r) !== undefined) r++;
    if (!Number.isInteger(r) || r >= MAX_RANK) {
      throw makeFault(
        "SystemUnknown",
        `no rank left to issue (NextRank is ${this.state.nextRank})`,
        "erase the system (dmg system erase) and format it again",
      );
    }
    this.state.nextRank = r + 1;
    this.changes.nextRank = this.state.nextRank;
    return r;
  }

  /** The invalid record holding `rank`, if any. */
  invalidAt(rank: number) {
    return this.state.invalid.find((r) => r.rank === rank);
  }
}

/** The fields that identify an engine across UUID changes (see {@link Draft.withIdentity}). */
type Identity = Pick<
  JoinInput,
  "addr" | "uri" | "secondaryUris" | "nctxs" | "secondaryNctxs" | "srvFaultDomain"
>;

function memberIdentity(m: Member): Identity {
  return {
    addr: m.addr,
    uri: m.fabric_uri,
    secondaryUris: m.secondary_fabric_uris,
    nctxs: m.fabric_contexts,
    secondaryNctxs: m.secondary_fabric_contexts,
    srvFaultDomain: m.fault_domain,
  };
}

function identityKey(i: Identity): string {
  return JSON.stringify([
    i.addr,
    i.uri,
    i.secondaryUris,
    i.nctxs,
    i.secondaryNctxs,
    i.srvFaultDomain,
  ]);
}

function push<K>(index: Map<K, Member[]>, key: K, m: Member): void {
  const list = index.get(key);
  if (list) list.push(m);
  else index.set(key, [m]);
}

function drop<K>(index: Map<K, Member[]>, key: K, uuid: string): void {
  const list = index.get(key)?.filter((x) => x.uuid !== uuid);
  if (list && list.length > 0) index.set(key, list);
  else index.delete(key);
}

function checkDepth(draft: Draft, fd: string, depth: number): void {
  // All members share one depth (enforced here), so the first one tells.
  for (const m of draft.state.members.values()) {
    const d = faultDomainDepth(m.fault_domain);
    if (d !== depth) {
      throw makeFault(
        "SystemBadFaultDomainDepth",
        `cannot join system with fault domain "${fd}", need layers = ${d}`,
        "reconfigure the fault domain with a depth consistent with other system members, and restart the server",
      );
    }
    return;
  }
}

/** The provider part ("ofi+tcp") of a fabric URI ("ofi+tcp://1.2.3.4:5"). */
export function uriProvider(uri: string): string {
  const i = uri.indexOf("://");
  return i < 0 ? uri : uri.slice(0, i);
}

/**
 * Applies one join to `draft`; throws the reference error (text or fault) on rejection.
 * `now` is the RFC 3339 update time; `peerHost` substitutes a 0.0.0.0 control address.
 */
export function applyJoin(
  draft: Draft,
  input: JoinInput,
  now: string,
  peerHost?: string,
): JoinOutcome {
  validateJoinInput(input);
  const req = { ...input };
  req.uuid = req.uuid.toLowerCase();
  if (addrHost(req.addr) === "0.0.0.0" && peerHost) {
    const host = peerHost.includes(":") ? `[${peerHost}]` : peerHost; // IPv6 peer
    req.addr = `${host}:${req.addr.slice(req.addr.lastIndexOf(":") + 1)}`;
    const p = controlAddrProblem(req.addr);
    if (p) throw badField("addr", `${p} (0.0.0.0 replaced by the caller's address)`, FIX_ENGINE);
  }
  const depth = faultDomainDepth(req.srvFaultDomain);
  const sysProvider = draft.state.attrs.get(ATTR_PROVIDERS) ?? "";
  const provider = uriProvider(req.uri);
  if (sysProvider !== "" && provider !== sysProvider) {
    throw new Error(
      `rank ${
        rankStr(req.rank)
      } fabric provider "${provider}" does not match system provider "${sysProvider}"`,
    );
  }
  const state = req.checkMode ? "checkerstarted" : "joined";
  // The member this join writes; refused here, for this join alone, if it could not be stored
  // (the database refuses the whole batch's write otherwise).
  const fresh = (rank: number): Member =>
    storable({
      rank,
      uuid: req.uuid,
      addr: req.addr,
      state,
      fault_domain: req.srvFaultDomain,
      incarnation: req.incarnation.toString(),
      fabric_uri: req.uri,
      secondary_fabric_uris: [...req.secondaryUris],
      fabric_contexts: req.nctxs,
      secondary_fabric_contexts: [...req.secondaryNctxs],
      info: "",
      last_update: now,
    });

  if (req.replace) {
    if (req.rank !== NilRank) throw new Error("unexpected rank in replace-rank request");
    if (draft.state.members.has(req.uuid)) {
      throw new Error(`member with uuid ${req.uuid} already exists`);
    }
    const old = draft.withIdentity(req)[0];
    if (!old) {
      throw makeFault(
        "SystemJoinReplaceRankNotFound",
        "system member could not be found from join request fields",
        "check that dmg storage format --replace is being run on a host with an engine that has previously had a rank excluded from the system",
      );
    }
    if (old.state === "adminexcluded") {
      throw new Error(
        `member ${old.uuid} (rank ${old.rank}) has been administratively excluded`,
      );
    }
    // Its shards would be served by a blank engine: refused while a pool counts on them.
    checkReplaceRank(draft.state, old.rank);
    draft.remove(old.uuid);
    draft.put(fresh(old.rank));
    return { rank: old.rank, state };
  }

  const cur = req.rank !== NilRank ? draft.byRank(req.rank) : draft.state.members.get(req.uuid);
  if (cur) {
    if (draft.state.members.size > 1) checkDepth(draft, req.srvFaultDomain, depth);
    if (cur.state === "adminexcluded") {
      throw new Error(`member ${cur.uuid} (rank ${cur.rank}) has been administratively excluded`);
    }
    // A Nil rank from a known UUID is a retry whose first join reply was lost: accept it.
    if (cur.rank !== req.rank && req.rank !== NilRank) {
      throw new Error(
        `can't rejoin member with uuid ${req.uuid}: rank changed from ${cur.rank} -> ${
          rankStr(req.rank)
        }`,
      );
    }
    if (cur.uuid !== req.uuid) {
      throw new Error(
        `can't rejoin member with rank ${cur.rank}: uuid changed from ${cur.uuid} -> ${req.uuid}`,
      );
    }
    if (cur.addr !== req.addr) {
      throw new Error(
        `can't rejoin member ${cur.uuid} (rank ${cur.rank}): control address changed from ${cur.addr} -> ${req.addr}`,
      );
    }
    draft.put(fresh(cur.rank));
    return { rank: cur.rank, state };
  }

  checkDepth(draft, req.srvFaultDomain, depth);
  const dup = draft.withIdentity(req).find((m) => m.uuid !== req.uuid);
  if (dup) {
    throw makeFault(
      "SystemJoinMemberExists",
      `system member with matching control address, fabric URIs, and fault domain already exists with UUID ${dup.uuid} (join request UUID: ${req.uuid})`,
      "format the rank with 'dmg storage format --replace' to update the UUID and rejoin the system",
    );
  }
  if (req.rank !== NilRank) {
    const known = draft.state.members.get(req.uuid);
    if (known) {
      throw new Error(
        `can't rejoin member with uuid ${req.uuid}: rank changed from ${known.rank} -> ${req.rank}`,
      );
    }
    // An engine keeps a rank this system gave it (its superblock); one never issued is
    // refused, so a request can neither take a rank ahead of NextRank nor push NextRank on.
    if (req.rank >= draft.state.nextRank) {
      throw makeFault(
        "SystemUnknown",
        `rank ${req.rank} was never issued by this system (next rank to issue: ${draft.state.nextRank}) (JoinReq field rank)`,
        "an engine may only rejoin with the rank the system gave it: reformat it (dmg storage format --replace to take over an excluded rank) so it joins without a rank",
      );
    }
    const held = draft.invalidAt(req.rank);
    if (held) {
      throw makeFault(
        "SystemUnknown",
        `rank ${req.rank} is held by an invalid member record ${
          quoteInput(held.key)
        }: ${held.problem}`,
        `remove the record with 'dmg system exclude --ranks ${req.rank}', then restart the engine`,
      );
    }
    draft.put(fresh(req.rank));
    return { rank: req.rank, state };
  }
  if (draft.state.members.has(req.uuid)) {
    throw new Error(`member with uuid ${req.uuid} already exists`);
  }
  const rank = draft.takeNextRank();
  draft.put(fresh(rank));
  return { rank, state };
}
