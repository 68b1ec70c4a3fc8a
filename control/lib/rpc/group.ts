/**
 * Folding fan-out results into host sets (dmg.md §4.4): hosts whose payloads are equal after
 * ignoring volatile fields share one group (host errors: control/lib/control/host_errors.ts).
 */
import { compareBytes, HostSet } from "../hostlist.ts";
import type { HostResult } from "./fanout.ts";

/** Hosts that answered with equal payloads. `key` is an opaque decimal uint64 string. */
export interface PayloadGroup<T> {
  key: string;
  /** The payload of the first host of the group. */
  payload: T;
  /** "host:port" of every member. */
  hosts: HostSet;
}

/** 64-bit FNV-1a of a string's UTF-8 bytes. */
export function fnv1a64(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(s)) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

/**
 * Groups payloads by `fingerprint` (a canonical string of the non-volatile content; lists
 * that compare as sets must be sorted by the fingerprint function).
 */
export function groupPayloads<T>(
  items: readonly { addr: string; payload: T }[],
  fingerprint: (payload: T) => string,
): PayloadGroup<T>[] {
  const groups = new Map<string, { payload: T; addrs: string[] }>();
  for (const { addr, payload } of items) {
    const fp = fingerprint(payload);
    const g = groups.get(fp);
    if (g) g.addrs.push(addr);
    else groups.set(fp, { payload, addrs: [addr] });
  }
  return sortByHosts(
    [...groups].map(([fp, g]) => ({
      key: fnv1a64(fp).toString(),
      payload: g.payload,
      hosts: HostSet.fromHosts(g.addrs),
    })),
  );
}

/** Sorts groups by the byte-wise order of their ranged host-set strings (dmg.md §4.4). */
export function sortByHosts<G extends { hosts: HostSet }>(groups: G[]): G[] {
  return groups.sort((a, b) => compareBytes(a.hosts.toString(), b.hosts.toString()));
}

/** Splits fan-out results into successes and per-host errors. */
export function partitionResults<T>(
  results: readonly HostResult<T>[],
): { ok: { addr: string; payload: T }[]; failed: { addr: string; error: Error }[] } {
  const ok: { addr: string; payload: T }[] = [];
  const failed: { addr: string; error: Error }[] = [];
  for (const r of results) {
    if (r.error) failed.push({ addr: r.addr, error: r.error });
    else ok.push({ addr: r.addr, payload: r.response as T });
  }
  return { ok, failed };
}
