/**
 * `dmg storage format [-l HOSTS] [--force] [--replace] [-v]` (dmg.md §5.9): flag checks, the
 * running-system guard (fault 509), the StorageFormat fan-out and the text/JSON printers.
 * Transport-free: the caller injects the fan-out and the MS SystemQuery probe.
 */
import type { Command } from "commander";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { SystemQueryReqSchema } from "../../proto/gen/ts/mgmt/system_pb.ts";
import { fanOut, type HostResult } from "../../control/lib/rpc/fanout.ts";
import { storageGroup } from "./storage.ts";
import {
  decodeRemoteError,
  NotLeaderError,
  NotReplicaError,
} from "../../control/lib/rpc/error_codec.ts";
import { connectionFailure, isDeadline } from "../../control/lib/rpc/conn_errors.ts";
import type { Runner } from "./context.ts";
import { groupErrors, groupPayloads } from "../../control/lib/rpc/group.ts";
import { hostErrorsJson } from "../printers/host_block.ts";
import { Fault, faults } from "../../control/lib/fault.ts";
import { stripPorts } from "../../control/lib/hostlist.ts";
import { formatTable, indentLines } from "../../control/lib/txtfmt.ts";
import { ResponseStatus } from "../../proto/gen/ts/ctl/common_pb.ts";
import {
  StorageFormatReqSchema,
  type StorageFormatResp,
} from "../../proto/gen/ts/ctl/storage_pb.ts";
import {
  formatHostErrors,
  groupHostErrors,
  hostErrorsSummary,
  type HostFailure,
} from "../output/host_errors.ts";
import type { GoJsonValue } from "../output/gojson.ts";

/** Flags of the command. */
export interface StorageFormatFlags {
  hostList?: string;
  force: boolean;
  replace: boolean;
  verbose: boolean;
}

/** Checks flag combinations; throws an Error with the reference text. */
export function checkFormatFlags(f: StorageFormatFlags, hostCount: number): void {
  if (f.replace && f.force) throw new Error("--replace may not be mixed with --force");
  if (f.replace && hostCount !== 1) {
    throw new Error("command expects a single host in hostlist if replace option used");
  }
}

/** One successfully formatted SCM mount. */
export interface ScmFormatted {
  path: string;
  info: string;
}

/** One successfully formatted bdev. */
export interface NvmeFormatted {
  pciAddr: string;
  info: string;
  roleBits: number;
}

/** What one host formatted. */
export interface HostFormatted {
  addr: string;
  scm: ScmFormatted[];
  nvme: NvmeFormatted[];
}

/** Folded fan-out results. */
export interface FormatResults {
  hosts: HostFormatted[];
  failures: HostFailure[];
}

function stateError(status: ResponseStatus, error: string, info: string): string {
  if (error !== "") return error;
  const name = ResponseStatus[status] ?? String(status);
  return info !== "" ? `${name}: ${info}` : `${name}: unknown error`;
}

/** Splits every host's response into formatted devices and per-host errors (§5.9). */
export function foldFormatResults(
  results: readonly HostResult<StorageFormatResp>[],
): FormatResults {
  const out: FormatResults = { hosts: [], failures: [] };
  for (const r of results) {
    if (r.error) {
      out.failures.push({ addr: r.addr, error: r.error });
      continue;
    }
    const h: HostFormatted = { addr: r.addr, scm: [], nvme: [] };
    for (const m of r.response.mrets) {
      const st = m.state;
      if (st && st.status !== ResponseStatus.CTL_SUCCESS) {
        out.failures.push({
          addr: r.addr,
          error: new Error(stateError(st.status, st.error, st.info)),
        });
      } else h.scm.push({ path: m.mntpoint, info: st?.info || "CTL_SUCCESS" });
    }
    for (const c of r.response.crets) {
      const st = c.state;
      if (st && st.status !== ResponseStatus.CTL_SUCCESS) {
        out.failures.push({
          addr: r.addr,
          error: new Error(stateError(st.status, st.error, st.info)),
        });
        continue;
      }
      if (c.pciAddr === "" || c.pciAddr === "<nil>") continue; // "NVMe format skipped"
      h.nvme.push({ pciAddr: c.pciAddr, info: st?.info || "CTL_SUCCESS", roleBits: c.roleBits });
    }
    out.hosts.push(h);
  }
  return out;
}

/** Role names of role bits, sorted (`data,meta,wal`), or `NA`. */
export function roleNames(bits: number): string {
  const names = [[1, "data"], [2, "meta"], [4, "wal"]] as const;
  const s = names.filter(([b]) => (bits & b) !== 0).map(([, n]) => n);
  return s.length === 0 ? "NA" : s.join(",");
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function verboseBlock(h: HostFormatted): string {
  let s = "";
  if (h.scm.length === 0) s += "  No SCM mount results\n";
  else {
    s += formatTable(
      ["SCM Mount", "Format Result"],
      [...h.scm].sort((a, b) => cmp(a.path, b.path)).map((m) => ({
        "SCM Mount": m.path,
        "Format Result": m.info,
      })),
    );
  }
  s += "\n";
  if (h.nvme.length === 0) s += "  No NVMe devices were formatted\n";
  else {
    s += formatTable(
      ["NVMe PCI", "Format Result", "Role(s)"],
      [...h.nvme].sort((a, b) => cmp(a.pciAddr, b.pciAddr)).map((n) => ({
        "NVMe PCI": n.pciAddr,
        "Format Result": n.info,
        "Role(s)": roleNames(n.roleBits),
      })),
    );
  }
  return s + "\n";
}

/** Text printed for the results: `out` for stdout, `err` for the Errors: block. */
export function printFormatResults(
  r: FormatResults,
  verbose: boolean,
): { out: string; err: string } {
  const err = formatHostErrors(groupHostErrors(r.failures));
  const items = r.hosts.map((h) => ({ addr: h.addr, payload: h }));
  let out = "";
  if (verbose) {
    const groups = groupPayloads(items, (h) => verboseBlock({ ...h, addr: "" }));
    for (const g of groups) {
      const hosts = stripPorts(g.hosts.toString());
      const dashes = "-".repeat(hosts.length);
      out += `${dashes}\n${hosts}\n${dashes}\n` + verboseBlock(g.payload);
    }
  } else if (items.length > 0) {
    const groups = groupPayloads(items, (h) => `${h.scm.length}/${h.nvme.length}`);
    out += "Format Summary:\n" + indentLines(
      formatTable(
        ["Hosts", "SCM Devices", "NVMe Devices"],
        groups.map((g) => ({
          Hosts: stripPorts(g.hosts.toString()),
          "SCM Devices": String(g.payload.scm.length),
          "NVMe Devices": String(g.payload.nvme.length),
        })),
      ),
      2,
    );
  }
  return { out, err };
}

/** The command's error after printing: `<n> host(s) had errors`, or undefined. */
export function formatCommandError(r: FormatResults): Error | undefined {
  const s = hostErrorsSummary(groupHostErrors(r.failures));
  return s === undefined ? undefined : new Error(s);
}

/** `-j` payload: HostStorage-like entries keyed by host set (same shape as storage scan). */
export function formatJson(r: FormatResults): GoJsonValue {
  const groups = groupPayloads(
    r.hosts.map((h) => ({ addr: h.addr, payload: h })),
    (h) => JSON.stringify({ ...h, addr: "" }),
  );
  const map: Record<string, GoJsonValue> = {};
  for (const g of groups) {
    map[g.hosts.toString()] = {
      hosts: g.hosts.toString(),
      storage: {
        nvme_devices: g.payload.nvme.map((n) => ({
          info: n.info,
          pci_addr: n.pciAddr,
          smd_devices: [{ roles: roleNames(n.roleBits) }],
        })),
        scm_mount_points: g.payload.scm.map((m) => ({ info: m.info, path: m.path })),
      },
    };
  }
  return map;
}

/** Fault 509: storage format refused because the MS answered (the system is running). */
export function formatRunningSystemFault(): Fault {
  return faults.ClientFormatRunningSystem();
}

/** Error texts meaning "no MS is running", which let the format proceed. */
export const MS_NOT_RUNNING = [
  "raft service unavailable (not started yet?)",
  "system is uninitialized (storage format required?)",
];

/** True if a SystemQuery failure means no MS is running (format may proceed). */
export function tolerableQueryError(err: unknown, target = ""): boolean {
  // Fail-fast mode: NotReplica/NotLeader answers, refused/closed/timed-out connections and
  // "not started / uninitialised" all mean no MS is serving.
  const typed = err instanceof Error && err.name !== "ConnectError" ? err : decodeRemoteError(err);
  if (typed instanceof NotReplicaError || typed instanceof NotLeaderError) return true;
  if (connectionFailure(err, target) !== undefined || isDeadline(err)) return true;
  const text = err instanceof Error ? err.message : String(err);
  return MS_NOT_RUNNING.some((t) => text.includes(t)) ||
    (err instanceof Fault && err.code >= 500 && err.code <= 511 && err.code !== 509);
}

/**
 * The safety check (§5.9 step 1): `probe` sends one fail-fast SystemQuery (per listed host
 * with -l, else one to the configured hosts). Any success → fault 509; tolerable errors pass;
 * any other error aborts the format.
 */
export async function formatGuard(probes: Array<() => Promise<unknown>>): Promise<void> {
  const outcomes = await Promise.allSettled(probes.map((p) => p()));
  for (const o of outcomes) if (o.status === "fulfilled") throw formatRunningSystemFault();
  for (const o of outcomes) {
    if (o.status === "rejected" && !tolerableQueryError(o.reason)) throw o.reason;
  }
}

/** Everything the command needs from the outside. */
export interface StorageFormatIO {
  /** Number of hosts targeted (for the --replace check). */
  hostCount: number;
  /** SystemQuery probes for the guard. */
  probes: Array<() => Promise<unknown>>;
  /** Fan-out of StorageFormat{reformat, replace}. */
  format(req: { reformat: boolean; replace: boolean }): Promise<HostResult<StorageFormatResp>[]>;
}

/** Runs the command; returns what to print and the command error (exit 1) if any. */
export async function runStorageFormat(
  flags: StorageFormatFlags,
  io: StorageFormatIO,
): Promise<{
  out: string;
  err: string;
  json: GoJsonValue;
  error?: Error;
  failures: HostFailure[];
  hostCount: number;
}> {
  checkFormatFlags(flags, io.hostCount);
  await formatGuard(io.probes);
  const results = foldFormatResults(
    await io.format({ reformat: flags.force, replace: flags.replace }),
  );
  const printed = printFormatResults(results, flags.verbose);
  return {
    ...printed,
    json: formatJson(results),
    error: formatCommandError(results),
    failures: results.failures,
    hostCount: results.hosts.length,
  };
}

/** Per-probe deadline of the running-system guard (fail fast). */
export const GUARD_PROBE_MS = 10_000;

interface FormatOptions {
  hostList?: string;
  verbose?: boolean;
  force?: boolean;
  replace?: boolean;
}

/** Registers `dmg storage format`. */
export function registerStorageFormat(program: Command, run: Runner): void {
  storageGroup(program).command("format")
    .description("Format SCM and NVMe storage attached to remote servers")
    .option("-l, --host-list <hosts>", "a list of addresses <ipv4addr/hostname:port> to connect to")
    .option("-v, --verbose", "show results of each SCM & NVMe device format operation")
    .option("--force", "force storage format on a host, stopping any running engines")
    .option("--replace", "replace an excluded rank's storage, reusing its rank number")
    .action(run(async (ctx, opts: FormatOptions) => {
      const targets = await ctx.targets(opts.hostList);
      // Flag errors come before any connection set-up.
      checkFormatFlags({
        force: opts.force === true,
        replace: opts.replace === true,
        verbose: false,
      }, targets.length);
      const pool = await ctx.pool();
      const sys = (await ctx.config()).name;
      const req = (r: { reformat: boolean; replace: boolean }) =>
        create(StorageFormatReqSchema, { nvme: {}, scm: {}, ...r });
      // Fail-fast SystemQuery per target: any answer means an MS is running (fault 509).
      const probes = targets.map((addr) => () =>
        createClient(MgmtSvc, pool.get(addr)).systemQuery(create(SystemQueryReqSchema, { sys }), {
          timeoutMs: GUARD_PROBE_MS,
        })
      );
      const res = await runStorageFormat({
        hostList: opts.hostList,
        force: opts.force === true,
        replace: opts.replace === true,
        verbose: opts.verbose === true,
      }, {
        hostCount: targets.length,
        probes,
        format: (r) =>
          fanOut(pool, targets, (t, o) => createClient(CtlSvc, t).storageFormat(req(r), o), {
            deadline: ctx.deadline(),
            name: "StorageFormat",
          }),
      });
      if (ctx.json) {
        ctx.envelope.write({
          host_errors: hostErrorsJson(groupErrors(res.failures.map((f) => ({
            addr: f.addr,
            error: f.error instanceof Error ? f.error : new Error(String(f.error)),
          })))),
          HostStorage: res.hostCount > 0 ? res.json : null,
        }, res.error);
      } else {
        if (res.err !== "") ctx.log.error(res.err);
        if (res.out !== "") ctx.log.info(res.out);
      }
      if (res.error) throw res.error;
    }));
}
