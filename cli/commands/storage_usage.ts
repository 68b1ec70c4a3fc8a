/**
 * `dmg storage query usage [-l HOSTS] [-u] [--mem-ratio R]` printers (dmg.md §5.10): the PMem
 * mode host table, and the MD-on-SSD tier/rank tables when any device carries roles.
 */
import type { Command } from "commander";
import { create, toJsonString } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { fanOut, type HostResult } from "../../control/lib/rpc/fanout.ts";
import { groupErrors, groupPayloads } from "../../control/lib/rpc/group.ts";
import { hostErrorsJson } from "../printers/host_block.ts";
import { storageGroup } from "./storage.ts";
import { commandGroup, type Runner } from "./context.ts";
import { stripPorts } from "../../control/lib/hostlist.ts";
import { formatBytes, percentString } from "../../control/lib/sizes.ts";
import { formatTable } from "../../control/lib/txtfmt.ts";
import { ResponseStatus } from "../../proto/gen/ts/ctl/common_pb.ts";
import {
  StorageScanReqSchema,
  type StorageScanResp,
  StorageScanRespSchema,
} from "../../proto/gen/ts/ctl/storage_pb.ts";
import { scanResultParts, storageJson } from "../printers/storage_scan.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import {
  formatHostErrors,
  groupHostErrors,
  hostErrorsSummary,
  type HostFailure,
} from "../output/host_errors.ts";
import { roleNames } from "./storage_format.ts";

/** Flags of the command. */
export interface UsageFlags {
  showUsable: boolean;
  memRatio?: number;
}

/** Checks flag combinations with the reference text. */
export function checkUsageFlags(f: UsageFlags): void {
  if (f.memRatio !== undefined && !f.showUsable) {
    throw new Error("--mem-ratio is only supported with --show-usable flag");
  }
}

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

function scanFailures(addr: string, r: StorageScanResp): HostFailure[] {
  const out: HostFailure[] = [];
  for (const [st, what] of [[r.nvme?.state, "nvme"], [r.scm?.state, "scm"]] as const) {
    if (st && st.status !== ResponseStatus.CTL_SUCCESS) {
      out.push({ addr, error: new Error(st.error || `${what} scan failed`) });
    }
  }
  return out;
}

/** True when any NVMe device of any host carries MD-on-SSD roles. */
export function isMdOnSsd(results: readonly HostResult<StorageScanResp>[]): boolean {
  return results.some((r) =>
    r.response?.nvme?.ctrlrs.some((c) => c.smdDevices.some((d) => d.roleBits !== 0)) ?? false
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

/** Text for the results: `out` (stdout), `err` (Errors: block), `notice`, and the failures. */
export function printUsage(
  results: readonly HostResult<StorageScanResp>[],
  flags: UsageFlags,
): { out: string; err: string; notice: string; failures: HostFailure[] } {
  const failures: HostFailure[] = [];
  const ok: { addr: string; payload: StorageScanResp }[] = [];
  for (const r of results) {
    if (r.error) failures.push({ addr: r.addr, error: r.error });
    else {
      failures.push(...scanFailures(r.addr, r.response));
      ok.push({ addr: r.addr, payload: r.response });
    }
  }
  const err = formatHostErrors(groupHostErrors(failures));
  let notice = "";
  let out: string;
  if (isMdOnSsd(results)) {
    try {
      out = mdTables(ok, flags.showUsable);
    } catch (e) {
      return { out: "", err: err + `ERROR: ${(e as Error).message}\n`, notice, failures };
    }
  } else {
    if (flags.showUsable) notice = "--show-usable flag ignored when MD-on-SSD is not enabled";
    out = pmemTable(ok.map((o) => ({ addr: o.addr, payload: hostUsage(o.payload) })));
  }
  return { out, err, notice, failures };
}

/**
 * The `-j` HostStorage map: hosts grouped by their exact answer (usage counts, unlike the
 * scan's grouping), failed parts left out; null when no host answered.
 */
export function usageHostStorage(
  results: readonly HostResult<StorageScanResp>[],
): GoJsonValue {
  const answered = results.flatMap((r) =>
    r.error ? [] : [{ addr: r.addr, payload: scanResultParts(r.response).storage }]
  );
  const groups = groupPayloads(answered, (p) => toJsonString(StorageScanRespSchema, p));
  if (groups.length === 0) return null;
  return new Map(
    groups.map((g) => [g.key, { storage: storageJson(g.payload), hosts: g.hosts.toString() }]),
  );
}

interface UsageOptions {
  hostList?: string;
  showUsable?: boolean;
  memRatio?: string;
}

/** Parses --mem-ratio (a fraction in (0, 1] or a percentage like 50%). */
export function parseMemRatio(s: string): number {
  const pct = s.endsWith("%");
  const v = Number(pct ? s.slice(0, -1) : s);
  const r = pct ? v / 100 : v;
  if (!Number.isFinite(r) || r <= 0 || r > 1) {
    throw new Error(
      `invalid --mem-ratio "${s}": use a fraction in (0, 1] or a percentage, e.g. 0.5 or 50%`,
    );
  }
  return r;
}

/** Registers `dmg storage query usage`. */
export function registerStorageQueryUsage(program: Command, run: Runner): void {
  commandGroup(storageGroup(program), "query", undefined, "Query storage commands")
    .command("usage")
    .description("Show SCM & NVMe storage space utilization per storage server")
    .option("-l, --host-list <hosts>", "a list of addresses <ipv4addr/hostname:port> to connect to")
    .option("-u, --show-usable", "show usable capacity (MD-on-SSD)")
    .option("--mem-ratio <ratio>", "ratio of meta-blob size to VOS file size (with -u)")
    .action(run(async (ctx, opts: UsageOptions) => {
      const flags: UsageFlags = {
        showUsable: opts.showUsable === true,
        memRatio: opts.memRatio === undefined ? undefined : parseMemRatio(opts.memRatio),
      };
      checkUsageFlags(flags);
      const targets = await ctx.targets(opts.hostList);
      const pool = await ctx.pool();
      const req = create(StorageScanReqSchema, {
        scm: { usage: true },
        nvme: { Health: true, Meta: true, memRatio: flags.memRatio ?? 0 },
      });
      const results = await fanOut(
        pool,
        targets,
        (t, o) => createClient(CtlSvc, t).storageScan(req, o),
        { deadline: ctx.deadline(), name: "StorageScan" },
      );
      const p = printUsage(results, flags);
      const summary = hostErrorsSummary(groupHostErrors(p.failures));
      if (ctx.json) {
        // JSON mode: host errors only in host_errors; exit 0 (dmg.md §5.10).
        ctx.envelope.write({
          host_errors: hostErrorsJson(groupErrors(p.failures.map((f) => ({
            addr: f.addr,
            error: f.error instanceof Error ? f.error : new Error(String(f.error)),
          })))),
          HostStorage: usageHostStorage(results),
        });
        return;
      }
      if (p.notice !== "") ctx.log.notice(p.notice);
      if (p.err !== "") ctx.log.error(p.err);
      if (p.out !== "") ctx.log.info(p.out);
      if (summary !== undefined) throw new Error(summary);
    }));
}
