/**
 * ctl.CtlSvc/StorageFormat as a function (server.md §3.3): runs the storage module's format
 * flow for this host's instances and maps the results onto the wire messages. Formats on one
 * host are serialised: a second request waits for the first.
 */
import { create } from "@bufbuild/protobuf";
import { ResponseStateSchema, ResponseStatus } from "../../proto/gen/ts/ctl/common_pb.ts";
import {
  NvmeControllerResultSchema,
  ScmMountResultSchema,
  type StorageFormatReq,
  type StorageFormatResp,
  StorageFormatRespSchema,
} from "../../proto/gen/ts/ctl/storage_pb.ts";
import type { ServerConfig } from "../config/types.ts";
import {
  formatHostStorage,
  type FormatInstance,
  type FormatOutcome,
  type FormatStatus,
} from "../storage/format.ts";
import type { FormatGate } from "../storage/format_state.ts";

/** What the handler needs from daos_server. */
export interface StorageFormatDeps {
  config: ServerConfig;
  /** This host's engine instances, one per engines[] entry, in index order. */
  instances(): FormatInstance[];
  gate: FormatGate;
  hostname: string;
}

const STATUS: Record<FormatStatus, ResponseStatus> = {
  CTL_SUCCESS: ResponseStatus.CTL_SUCCESS,
  CTL_ERR_SCM: ResponseStatus.CTL_ERR_SCM,
  CTL_ERR_NVME: ResponseStatus.CTL_ERR_NVME,
  CTL_ERR_CONF: ResponseStatus.CTL_ERR_CONF,
};

/** Maps the flow's results onto StorageFormatResp (SCM sorted by instance). */
export function toStorageFormatResp(out: FormatOutcome): StorageFormatResp {
  return create(StorageFormatRespSchema, {
    mrets: [...out.scm].sort((a, b) => a.instanceIdx - b.instanceIdx).map((r) =>
      create(ScmMountResultSchema, {
        mntpoint: r.mountPoint,
        instanceidx: r.instanceIdx,
        state: create(ResponseStateSchema, {
          status: STATUS[r.status],
          error: r.error,
          info: r.info,
        }),
      })
    ),
    crets: out.bdevs.map((r) =>
      create(NvmeControllerResultSchema, {
        pciAddr: r.device,
        roleBits: r.roleBits,
        state: create(ResponseStateSchema, {
          status: STATUS[r.status],
          error: r.error,
          info: r.info,
        }),
      })
    ),
  });
}

let queue: Promise<unknown> = Promise.resolve();

/** Handles one StorageFormat request. */
export function storageFormat(
  req: StorageFormatReq,
  deps: StorageFormatDeps,
): Promise<StorageFormatResp> {
  const run = async () => {
    const out = await formatHostStorage(
      deps.config,
      deps.instances(),
      { reformat: req.reformat, replace: req.replace },
      { hostname: deps.hostname, gate: deps.gate },
    );
    return toStorageFormatResp(out);
  };
  const p = queue.then(run, run);
  queue = p.catch(() => {});
  return p;
}

/**
 * Instances for a server without a running harness: every engine counts as stopped. The
 * harness supplies its own (running state, SIGKILL) when it exists.
 */
export function stoppedInstances(cfg: ServerConfig): FormatInstance[] {
  return cfg.engines.map((config) => ({
    config,
    isRunning: () => false,
    kill: () => Promise.resolve(),
  }));
}

/** The CtlSvc handlers this module owns, ready to merge into the service (`ctl` overrides). */
export function storageFormatHandlers(
  cfg: ServerConfig,
  gate: FormatGate,
  instances: () => FormatInstance[] = () => stoppedInstances(cfg),
): { storageFormat: (req: StorageFormatReq) => Promise<StorageFormatResp> } {
  const deps = { config: cfg, gate, instances, hostname: Deno.hostname() };
  return { storageFormat: (req) => storageFormat(req, deps) };
}

/** What the format flow needs of a harness engine instance (structural: EngineInstance fits). */
export interface KillableInstance {
  isStarted(): boolean;
  stop(sig: Deno.Signal): boolean;
  waitFor(pred: (i: KillableInstance) => boolean, timeoutMs: number): Promise<boolean>;
}

/** Bound on waiting for a SIGKILLed engine to exit before its tmpfs is re-created. */
export const KILL_WAIT_MS = 10_000;

/**
 * FormatInstances over the harness's instances (index order = engines[]): reformat SIGKILLs a
 * running engine and waits (bounded) for it to exit, so its mount is no longer busy.
 */
export function harnessFormatInstances(
  cfg: ServerConfig,
  instances: readonly KillableInstance[],
): FormatInstance[] {
  return cfg.engines.map((config, i) => ({
    config,
    isRunning: () => instances[i]?.isStarted() ?? false,
    kill: async () => {
      const inst = instances[i];
      if (!inst || !inst.stop("SIGKILL")) return;
      if (!(await inst.waitFor((x) => !x.isStarted(), KILL_WAIT_MS))) {
        throw new Error(`instance ${i}: engine did not exit within ${KILL_WAIT_MS} ms of SIGKILL`);
      }
    },
  }));
}
