/**
 * `dmg storage query usage` output (dmg.md §5.10): the PMem mode host table, the MD-on-SSD
 * tier/rank tables when any device carries roles, and the -j HostStorage map.
 */
import { toJsonString } from "@bufbuild/protobuf";
import { type HostAnswers, scanResultParts } from "../../control/lib/control/storage.ts";
import { stripPorts } from "../../control/lib/hostlist.ts";
import { groupPayloads } from "../../control/lib/rpc/group.ts";
import { formatBytes, percentString } from "../../control/lib/sizes.ts";
import { formatTable } from "../../control/lib/txtfmt.ts";
import { type StorageScanResp, StorageScanRespSchema } from "../../proto/gen/ts/ctl/storage_pb.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import { hostErrorsBlock } from "./host_errors.ts";
import { roleNames } from "./storage_format.ts";
import { storageJson } from "./storage_scan.ts";

type Answer = { addr: string; payload: StorageScanResp };

interface HostUsage {
  scmTotal: bigint;
  scmFree: bigint;
  nvmeTotal: bigint;
  nvmeFree: bigint;
}

interface RankTier {
  rank: number;
  roleBits: number;
  total: bigint;
  free: bigint;
  usable: bigint;
}

function hostUsage(r: StorageScanResp): HostUsage {
  const u = { scmTotal: 0n, scmFree: 0n, nvmeTotal: 0n, nvmeFree: 0n };
  for (const ns of r.scm?.namespaces ?? []) {
    u.scmTotal += ns.mount?.totalBytes ?? 0n;
    u.scmFree += ns.mount?.availBytes ?? 0n;
  }
  for (const c of r.nvme?.ctrlrs ?? []) {
    for (const d of c.smdDevices) {
      u.nvmeTotal += d.totalBytes;
      u.nvmeFree += d.availBytes;
    }
  }
  return u;
}

/** True when any NVMe device of any host carries MD-on-SSD roles. */
export function isMdOnSsd(answers: readonly Answer[]): boolean {
  return answers.some((r) =>
    r.payload.nvme?.ctrlrs.some((c) => c.smdDevices.some((d) => d.roleBits !== 0)) ?? false
  );
}

function pmemTable(ok: { addr: string; payload: HostUsage }[]): string {
  const groups = groupPayloads(
    ok,
    (u) => `${u.scmTotal}/${u.scmFree}/${u.nvmeTotal}/${u.nvmeFree}`,
  );
  return formatTable(
    ["Hosts", "SCM-Total", "SCM-Free", "SCM-Used", "NVMe-Total", "NVMe-Free", "NVMe-Used"],
    groups.map((g) => {
      const u = g.payload;
      return {
        Hosts: stripPorts(g.hosts.toString()),
        "SCM-Total": formatBytes(u.scmTotal),
        "SCM-Free": formatBytes(u.scmFree),
        "SCM-Used": percentString(u.scmTotal - u.scmFree, u.scmTotal),
        "NVMe-Total": formatBytes(u.nvmeTotal),
        "NVMe-Free": formatBytes(u.nvmeFree),
        "NVMe-Used": percentString(u.nvmeTotal - u.nvmeFree, u.nvmeTotal),
      };
    }),
  );
}

function mdTables(results: readonly { payload: StorageScanResp }[], usable: boolean): string {
  const byKey = new Map<string, RankTier>();
  for (const r of results) {
    for (const c of r.payload.nvme?.ctrlrs ?? []) {
      for (const d of c.smdDevices) {
        const k = `${d.rank}/${d.roleBits}`;
        const t = byKey.get(k) ??
          { rank: d.rank, roleBits: d.roleBits, total: 0n, free: 0n, usable: 0n };
        t.total += d.totalBytes;
        t.free += d.availBytes;
        t.usable += d.usableBytes;
        byKey.set(k, t);
      }
    }
  }
  // Tiers ordered WAL/meta first (higher role bits), as the reference lists T1 = meta,wal.
  const roles = [...new Set([...byKey.values()].map((t) => t.roleBits))].sort((a, b) => b - a);
  if (!roles.some((b) => (b & 2) !== 0)) {
    throw new Error("no meta role found in MD-on-SSD device roles");
  }
  let out = formatTable(
    ["Tier", "Roles"],
    roles.map((b, i) => ({ Tier: `T${i + 1}`, Roles: roleNames(b) })),
  );
  out += "\n";
  const ranks = [...new Set([...byKey.values()].map((t) => t.rank))].sort((a, b) => a - b);
  const free = usable ? "Usable" : "Free";
  const titles = [
    "Rank",
    ...roles.flatMap((_, i) => [`T${i + 1}-Total`, `T${i + 1}-${free}`, `T${i + 1}-Usage`]),
  ];
  out += formatTable(
    titles,
    ranks.map((rank) => {
      const row: Record<string, string> = { Rank: String(rank) };
      roles.forEach((b, i) => {
        const t = byKey.get(`${rank}/${b}`) ??
          { rank, roleBits: b, total: 0n, free: 0n, usable: 0n };
        const f = usable ? t.usable : t.free;
        row[`T${i + 1}-Total`] = formatBytes(t.total);
        row[`T${i + 1}-${free}`] = formatBytes(f);
        row[`T${i + 1}-Usage`] = percentString(t.total - f, t.total);
      });
      return row;
    }),
  );
  return out;
}

/** Text for the answers: `out` (stdout), `err` (Errors: block) and `notice`. */
export function printUsage(
  usage: HostAnswers<StorageScanResp>,
  flags: { showUsable: boolean },
): { out: string; err: string; notice: string } {
  const ok = usage.answers;
  const err = hostErrorsBlock(usage.hostErrors);
  let notice = "";
  let out: string;
  if (isMdOnSsd(ok)) {
    try {
      out = mdTables(ok, flags.showUsable);
    } catch (e) {
      return { out: "", err: err + `ERROR: ${(e as Error).message}\n`, notice };
    }
  } else {
    if (flags.showUsable) notice = "--show-usable flag ignored when MD-on-SSD is not enabled";
    out = pmemTable(ok.map((o) => ({ addr: o.addr, payload: hostUsage(o.payload) })));
  }
  return { out, err, notice };
}

/**
 * The `-j` HostStorage map: hosts grouped by their exact answer (usage counts, unlike the
 * scan's grouping), failed parts left out; null when no host answered.
 */
export function usageHostStorage(answers: readonly Answer[]): GoJsonValue {
  const answered = answers.map((r) => ({
    addr: r.addr,
    payload: scanResultParts(r.payload).storage,
  }));
  const groups = groupPayloads(answered, (p) => toJsonString(StorageScanRespSchema, p));
  if (groups.length === 0) return null;
  return new Map(
    groups.map((g) => [g.key, { storage: storageJson(g.payload), hosts: g.hosts.toString() }]),
  );
}
