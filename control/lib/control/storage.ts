/**
 * The storage RPC family (DAOS lib/control/storage.go): StorageScan and StorageFormat fanned
 * out over an Invoker, each host's answer split into what it contributes and host errors
 * (one HostErrors), and the format guard: refuse (fault 509) when an MS answers, since the
 * system is then running.
 */
import { clone, create } from "@bufbuild/protobuf";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import { ResponseStatus } from "../../../proto/gen/ts/ctl/common_pb.ts";
import {
  StorageFormatReqSchema,
  type StorageFormatResp,
  StorageScanReqSchema,
  type StorageScanResp,
  StorageScanRespSchema,
} from "../../../proto/gen/ts/ctl/storage_pb.ts";
import { MgmtSvc } from "../../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { SystemQueryReqSchema } from "../../../proto/gen/ts/mgmt/system_pb.ts";
import { FaultCode, faults, isFault } from "../fault.ts";
import { connectionFailure, isDeadline } from "../rpc/conn_errors.ts";
import {
  decodeRemoteError,
  isMsNotReady,
  NotLeaderError,
  NotReplicaError,
} from "../rpc/error_codec.ts";
import type { FanOutOptions, HostResult } from "../rpc/fanout.ts";
import { foldResults, type HostAnswers, HostErrors } from "./host_errors.ts";

export type { HostAnswers };
import type { Invoker } from "./invoker.ts";

/** Where and how long to fan out: FanOutOptions without the request name. */
export type FanOutTargets = Omit<FanOutOptions, "name"> & { targets: readonly string[] };

/** Options of a storage scan. */
export interface ScanRequest {
  /** Device details (`-v`), not the summary. */
  verbose?: boolean;
  /** NVMe health statistics (`-n`). */
  nvmeHealth?: boolean;
}

/**
 * Splits one host's answer into per-part errors and the storage it contributes: a part whose
 * state is not success adds `<error or "unknown error">[ (<info>)]` and contributes nothing.
 */
export function scanResultParts(
  resp: StorageScanResp,
): { errors: Error[]; storage: StorageScanResp } {
  const storage = clone(StorageScanRespSchema, resp);
  const errors: Error[] = [];
  const partError = (state: { status: number; error: string; info: string } | undefined) => {
    if (!state || state.status === ResponseStatus.CTL_SUCCESS) return false;
    errors.push(
      new Error((state.error || "unknown error") + (state.info ? ` (${state.info})` : "")),
    );
    return true;
  };
  if (partError(storage.nvme?.state) && storage.nvme) storage.nvme.ctrlrs = [];
  if (partError(storage.scm?.state) && storage.scm) {
    storage.scm.modules = [];
    storage.scm.namespaces = [];
  }
  return { errors, storage };
}

/** StorageScan on every target; failed parts of an answer become host errors. */
export async function storageScan(
  inv: Invoker,
  opts: FanOutTargets,
  req: ScanRequest,
): Promise<HostAnswers<StorageScanResp>> {
  const { targets, ...fan } = opts;
  const detail = req.verbose === true || req.nvmeHealth === true;
  const health = req.nvmeHealth === true;
  const request = create(StorageScanReqSchema, {
    scm: { usage: false },
    nvme: { Basic: !detail, Health: health, linkStats: health },
  });
  const results = await inv.fanOut(targets, CtlSvc.method.storageScan, request, {
    ...fan,
    name: "StorageScan",
  });
  return foldResults(results, (addr, resp, hostErrors) => {
    const { errors, storage } = scanResultParts(resp);
    for (const error of errors) hostErrors.add(addr, error);
    return storage;
  });
}

function usageFailures(addr: string, r: StorageScanResp, into: HostErrors): void {
  for (const [st, what] of [[r.nvme?.state, "nvme"], [r.scm?.state, "scm"]] as const) {
    if (st && st.status !== ResponseStatus.CTL_SUCCESS) {
      into.add(addr, new Error(st.error || `${what} scan failed`));
    }
  }
}

/** StorageScan with usage (`storage query usage`), folded by {@link foldUsage}. */
export async function storageUsage(
  inv: Invoker,
  opts: FanOutTargets,
  req: { memRatio?: number },
): Promise<HostAnswers<StorageScanResp>> {
  const { targets, ...fan } = opts;
  const request = create(StorageScanReqSchema, {
    scm: { usage: true },
    nvme: { Health: true, Meta: true, memRatio: req.memRatio ?? 0 },
  });
  const results = await inv.fanOut(targets, CtlSvc.method.storageScan, request, {
    ...fan,
    name: "StorageScan",
  });
  return foldUsage(results);
}

/**
 * Usage answers as they came (failed parts included, the printers skip them); a failed part
 * is a host error `<error or "<part> scan failed">`.
 */
export function foldUsage(
  results: readonly HostResult<StorageScanResp>[],
): HostAnswers<StorageScanResp> {
  return foldResults(results, (addr, resp, hostErrors) => {
    usageFailures(addr, resp, hostErrors);
    return resp;
  });
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

/** Folded format results: what each answering host formatted, and the host errors. */
export interface FormatResults {
  hosts: HostFormatted[];
  hostErrors: HostErrors;
}

function stateError(status: ResponseStatus, error: string, info: string): string {
  if (error !== "") return error;
  const name = ResponseStatus[status] ?? String(status);
  return info !== "" ? `${name}: ${info}` : `${name}: unknown error`;
}

/** Splits every host's response into formatted devices and per-host errors (dmg.md §5.9). */
export function foldFormatResults(
  results: readonly HostResult<StorageFormatResp>[],
): FormatResults {
  const out: FormatResults = { hosts: [], hostErrors: new HostErrors() };
  for (const r of results) {
    if (r.error) {
      out.hostErrors.add(r.addr, r.error);
      continue;
    }
    const h: HostFormatted = { addr: r.addr, scm: [], nvme: [] };
    for (const m of r.response.mrets) {
      const st = m.state;
      if (st && st.status !== ResponseStatus.CTL_SUCCESS) {
        out.hostErrors.add(r.addr, new Error(stateError(st.status, st.error, st.info)));
      } else h.scm.push({ path: m.mntpoint, info: st?.info || "CTL_SUCCESS" });
    }
    for (const c of r.response.crets) {
      const st = c.state;
      if (st && st.status !== ResponseStatus.CTL_SUCCESS) {
        out.hostErrors.add(r.addr, new Error(stateError(st.status, st.error, st.info)));
        continue;
      }
      if (c.pciAddr === "" || c.pciAddr === "<nil>") continue; // "NVMe format skipped"
      h.nvme.push({ pciAddr: c.pciAddr, info: st?.info || "CTL_SUCCESS", roleBits: c.roleBits });
    }
    out.hosts.push(h);
  }
  return out;
}

/** Checks format flag combinations; throws an Error with the reference text. */
export function checkFormatRequest(
  req: { reformat: boolean; replace: boolean },
  hostCount: number,
): void {
  if (req.replace && req.reformat) throw new Error("--replace may not be mixed with --force");
  if (req.replace && hostCount !== 1) {
    throw new Error("command expects a single host in hostlist if replace option used");
  }
}

/** True if a guard SystemQuery failure means no MS is running (the format may proceed). */
export function tolerableQueryError(err: unknown, target = ""): boolean {
  // Fail-fast mode: NotReplica/NotLeader answers, refused/closed/timed-out connections and
  // "not started / uninitialised" all mean no MS is serving.
  const typed = err instanceof Error && err.name !== "ConnectError" ? err : decodeRemoteError(err);
  if (typed instanceof NotReplicaError || typed instanceof NotLeaderError) return true;
  if (isMsNotReady(typed)) return true;
  if (connectionFailure(err, target) !== undefined || isDeadline(err)) return true;
  return isFault(err) && err.code >= 500 && err.code <= 511 &&
    err.code !== FaultCode.ClientFormatRunningSystem;
}

/**
 * The safety check (dmg.md §5.9 step 1): the outcomes of one fail-fast SystemQuery per
 * target. Any success → fault 509; tolerable errors pass; any other error aborts the format.
 */
export async function formatGuard(probes: Array<() => Promise<unknown>>): Promise<void> {
  const outcomes = await Promise.allSettled(probes.map((p) => p()));
  for (const o of outcomes) {
    if (o.status === "fulfilled") throw faults.ClientFormatRunningSystem();
  }
  for (const o of outcomes) {
    if (o.status === "rejected" && !tolerableQueryError(o.reason)) throw o.reason;
  }
}

/** Per-probe deadline of the running-system guard (fail fast). */
export const GUARD_PROBE_MS = 10_000;

/**
 * StorageFormat on every target after the guard (one fail-fast SystemQuery of system `sys`
 * per target; fault 509 if any answers). `reformat` is `--force`.
 */
export async function storageFormat(
  inv: Invoker,
  opts: FanOutTargets,
  req: { sys: string; reformat: boolean; replace: boolean },
): Promise<FormatResults> {
  const { targets, ...fan } = opts;
  checkFormatRequest(req, targets.length);
  const query = create(SystemQueryReqSchema, { sys: req.sys });
  await formatGuard(
    targets.map((addr) => () =>
      inv.unary(addr, MgmtSvc.method.systemQuery, query, { timeoutMs: GUARD_PROBE_MS })
    ),
  );
  const request = create(StorageFormatReqSchema, {
    nvme: {},
    scm: {},
    reformat: req.reformat,
    replace: req.replace,
  });
  return foldFormatResults(
    await inv.fanOut(targets, CtlSvc.method.storageFormat, request, {
      ...fan,
      name: "StorageFormat",
    }),
  );
}
