/**
 * Client-side maths of `dmg pool create` (spec/dmg.md §5.12): the `-t` tier ratio, the `-z`
 * size-or-percentage flag, and the `-z N%` per-rank maxima from a SystemQuery and a usage
 * StorageScan (the reference's GetMaxPoolSize).
 */
import type { StorageScanResp } from "../../../proto/gen/ts/ctl/storage_pb.ts";
import { NvmeDevState } from "../../../proto/gen/ts/ctl/smd_pb.ts";
import type { SystemMember } from "../../../proto/gen/ts/mgmt/system_pb.ts";
import { parseBytes } from "../sizes.ts";

/** Default `-t`: 6 % SCM (or metadata), 94 % NVMe (or data). */
export const DEFAULT_TIER_RATIO = "6,94";

/** BdevRoleData (storage.BdevRoleData): an SMD device that holds pool data. */
const BDEV_ROLE_DATA = 1;

/** Go's roundFloatTo(v, 2). */
function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/**
 * Parses `-t A[,B]` into fractions (0.06, 0.94): values in percent (a trailing `%` allowed),
 * rounded to 2 decimals; one value A ≤ 100 gets 100−A as the second; the sum must be 100 ±1.
 */
export function parseTierRatio(text: string): number[] {
  const ratios: number[] = [];
  for (const part of text.split(",")) {
    const t = part.trim().replace(/%$/, "");
    const v = Number(t);
    if (t === "" || !Number.isFinite(v) || v < 0) {
      throw new Error(`invalid tier ratio "${part}" (expected e.g. 6,94 or 6)`);
    }
    ratios.push(round2(v) / 100);
  }
  if (ratios.length === 1) {
    if (ratios[0] > 1) {
      throw new Error(`Storage tier ratio is greater than 100% (${(ratios[0] * 100).toFixed(2)}%)`);
    }
    ratios.push(1 - ratios[0]);
  }
  let total = 0;
  for (const r of ratios) {
    if (r > 1) throw new Error("Storage tier ratio is greater than 100%");
    total += r;
  }
  if (Math.abs(total - 1) > 0.01) {
    throw new Error(`Storage tier ratios must add up to 100% (got ${(total * 100).toFixed(2)}%)`);
  }
  return ratios;
}

/** A parsed `-z`: bytes, or a percentage of the available storage. */
export type SizeFlag = { bytes: bigint } | { percent: number };

/** Parses `-z SIZE|N%`; the percentage must be an integer in 1–100. */
export function parseSizeFlag(text: string): SizeFlag {
  const t = text.trim();
  if (t.endsWith("%")) {
    const num = t.slice(0, -1).trim();
    if (!/^\d+$/.test(num)) throw new Error(`invalid size "${text}" (expected SIZE or N%)`);
    const pct = Number(num);
    if (pct <= 0 || pct > 100) {
      throw new Error(
        `Creating DAOS pool with invalid full size ratio ${pct}%: allowed range 0 < ratio <= 100`,
      );
    }
    return { percent: pct };
  }
  return { bytes: parseBytes(t) };
}

/**
 * Checks that every requested rank is a Joined member (`specified rank N is not joined`);
 * returns the ranks whose storage counts (the requested ones, else all members).
 */
export function checkJoinedRanks(members: readonly SystemMember[], ranks: readonly number[]) {
  const joined = new Set(
    members.filter((m) => m.state.toLowerCase() === "joined").map((m) => m.rank),
  );
  for (const r of ranks) {
    if (!joined.has(r)) throw new Error(`specified rank ${r} is not joined`);
  }
}

/**
 * The largest per-rank SCM and NVMe sizes a pool over `ranks` (empty = every rank) can have:
 * the smallest usable SCM mount over those ranks, and the smallest per-rank sum of usable
 * bytes of NORMAL data SMD devices (GetMaxPoolSize).
 */
export function maxPoolSize(
  answers: readonly { addr: string; payload: StorageScanResp }[],
  ranks: readonly number[],
): { scm: bigint; nvme: bigint } {
  if (answers.length === 0) throw new Error("Empty host storage response from StorageScan");
  const wanted = (rank: number) => ranks.length === 0 || ranks.includes(rank);
  const nvmePerRank = new Map<number, bigint>();
  let scm: bigint | undefined;
  for (const { addr, payload } of answers) {
    const namespaces = payload.scm?.namespaces ?? [];
    if (!namespaces.some((ns) => (ns.mount?.usableBytes ?? 0n) > 0n)) {
      throw new Error(`Host without SCM storage: hostname=${addr.replace(/:\d+$/, "")}`);
    }
    for (const ns of namespaces) {
      if (!ns.mount) {
        throw new Error(
          `SCM device ${ns.uuid} (bdev ${ns.blockdev}, name ${ns.dev}) is not mounted`,
        );
      }
      const rank = ns.mount.rank;
      if (!wanted(rank)) continue;
      if (scm === undefined || ns.mount.usableBytes < scm) scm = ns.mount.usableBytes;
      if (nvmePerRank.has(rank)) throw new Error(`Multiple SCM devices found for rank ${rank}`);
      nvmePerRank.set(rank, 0n);
    }
    for (const c of payload.nvme?.ctrlrs ?? []) {
      for (const d of c.smdDevices) {
        if (d.roleBits !== 0 && (d.roleBits & BDEV_ROLE_DATA) === 0) continue;
        const state = d.ctrlr?.devState ?? c.devState;
        if (state !== NvmeDevState.NORMAL || !wanted(d.rank)) continue;
        const have = nvmePerRank.get(d.rank);
        if (have === undefined) {
          throw new Error(
            `Rank ${d.rank} without SCM device and at least one SMD device ${d.uuid} (rank ${d.rank}, ctrlr ${c.pciAddr})`,
          );
        }
        nvmePerRank.set(d.rank, have + d.usableBytes);
      }
    }
  }
  if (scm === undefined) {
    throw new Error(`No SCM storage space available with rank list ${ranks.join(",")}`);
  }
  let nvme: bigint | undefined;
  for (const b of nvmePerRank.values()) if (nvme === undefined || b < nvme) nvme = b;
  return { scm, nvme: nvme ?? 0n };
}

/** `bytes × pct / 100`, exact (the `-z N%` per-rank tier bytes). */
export function percentOf(bytes: bigint, pct: number): bigint {
  return (bytes * BigInt(pct)) / 100n;
}

/** `a/(a+b)×100` with 2 decimals (`9.09`); `0.00` for an empty sum. */
export function ratioPercent(a: bigint, b: bigint): string {
  const sum = a + b;
  if (sum === 0n) return "0.00";
  return ((Number(a) / Number(sum)) * 100).toFixed(2);
}
