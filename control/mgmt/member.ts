/**
 * Members of the system (one per engine rank) and their states (dmg.md §9): names, mask bits,
 * and the legal automatic transitions.
 */
import { isLegalTransition as legalByBits } from "../lib/states.ts";
import {
  controlAddrProblem,
  fabricUriProblem,
  faultDomainProblem,
  MAX_SECONDARY_PROVIDERS,
  rankProblem,
  uint32Problem,
  uint64TextProblem,
  uuidProblem,
} from "../lib/member_fields.ts";

/** Member state names as stored and returned (lower-case on the wire). */
export type MemberState =
  | "unknown"
  | "awaitformat"
  | "starting"
  | "ready"
  | "joined"
  | "stopping"
  | "stopped"
  | "excluded"
  | "errored"
  | "unresponsive"
  | "adminexcluded"
  | "checkerstarted";

/** State bits used by `SystemQueryReq.state_mask`. */
export const STATE_BITS: Record<MemberState, number> = {
  unknown: 0x0,
  awaitformat: 0x1,
  starting: 0x2,
  ready: 0x4,
  joined: 0x8,
  stopping: 0x10,
  stopped: 0x20,
  excluded: 0x40,
  errored: 0x80,
  unresponsive: 0x100,
  adminexcluded: 0x200,
  checkerstarted: 0x400,
};

/** Parses a wire state name (any case); unknown names give "unknown". */
export function parseState(s: string): MemberState {
  const l = s.toLowerCase();
  return (l in STATE_BITS ? l : "unknown") as MemberState;
}

/** Whether an automatic transition (operation result, event) may move `from` to `to`. */
export function isLegalTransition(from: MemberState, to: MemberState): boolean {
  return legalByBits(STATE_BITS[from], STATE_BITS[to]);
}

/** A member record as stored in etcd (server.md §5.4 member object). */
export interface Member {
  rank: number;
  uuid: string;
  addr: string;
  state: MemberState;
  fault_domain: string;
  incarnation: string; // uint64 as decimal string (JSON has no 64-bit integers)
  fabric_uri: string;
  secondary_fabric_uris: string[];
  fabric_contexts: number;
  secondary_fabric_contexts: number[];
  info: string;
  last_update: string; // RFC 3339
}

/** Host part of a control address "IP:port". */
export function addrHost(addr: string): string {
  const i = addr.lastIndexOf(":");
  return i < 0 ? addr : addr.slice(0, i);
}

/**
 * Null when `m` can be stored, encoded in every reply (SystemQuery, RankResult) and delivered
 * in a group map; else what is wrong with it. A member failing this is never written, and one
 * found in the database is set aside (see db.ts InvalidRecord).
 */
export function memberProblem(m: Member): string | null {
  const uriProblems = m.secondary_fabric_uris.map(fabricUriProblem);
  return uuidProblem(m.uuid) ??
    rankProblem(m.rank) ??
    controlAddrProblem(m.addr) ??
    faultDomainProblem(m.fault_domain) ??
    uint64TextProblem(m.incarnation, "incarnation") ??
    (m.fabric_uri === "" ? null : fabricUriProblem(m.fabric_uri)) ??
    (m.secondary_fabric_uris.length > MAX_SECONDARY_PROVIDERS
      ? `more than ${MAX_SECONDARY_PROVIDERS} secondary fabric URIs`
      : null) ??
    uriProblems.find((p) => p !== null) ??
    uint32Problem(m.fabric_contexts, "fabric contexts") ??
    (m.secondary_fabric_contexts.length > MAX_SECONDARY_PROVIDERS
      ? `more than ${MAX_SECONDARY_PROVIDERS} secondary fabric context counts`
      : null) ??
    m.secondary_fabric_contexts.map((n) => uint32Problem(n, "secondary fabric contexts"))
      .find((p) => p !== null) ??
    null;
}
