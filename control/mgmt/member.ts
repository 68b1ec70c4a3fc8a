/**
 * Members of the system (one per engine rank) as the MS stores them; their states and the
 * legal transitions are lib/states.ts's (dmg.md §9).
 */
import type { MemberStateWireName } from "../lib/states.ts";
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

/** A member record as stored in etcd (server.md §5.4 member object). */
export interface Member {
  rank: number;
  uuid: string;
  addr: string;
  state: MemberStateWireName;
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
