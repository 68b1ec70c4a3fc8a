/**
 * ctl.CtlSvc/StorageFormat's pieces (server.md §3.3): this host's instances as the storage
 * module's format flow sees them, and its results as the wire message. The handler (one
 * format at a time per server) is control/handlers/ctl_storage.ts.
 */
import { create } from "@bufbuild/protobuf";
import {
  type ResponseState,
  ResponseStateSchema,
  ResponseStatus,
} from "../../proto/gen/ts/ctl/common_pb.ts";
import {
  NvmeControllerResultSchema,
  ScmMountResultSchema,
  type StorageFormatResp,
  StorageFormatRespSchema,
} from "../../proto/gen/ts/ctl/storage_pb.ts";
import type { ServerConfig } from "../config/types.ts";
import type { FormatInstance, FormatOutcome, FormatStatus } from "../storage/format.ts";

const STATUS: Record<FormatStatus, ResponseStatus> = {
  CTL_SUCCESS: ResponseStatus.CTL_SUCCESS,
  CTL_ERR_SCM: ResponseStatus.CTL_ERR_SCM,
  CTL_ERR_NVME: ResponseStatus.CTL_ERR_NVME,
  CTL_ERR_CONF: ResponseStatus.CTL_ERR_CONF,
};

/** One result's status, error and info as the wire's ResponseState. */
function responseState(r: { status: FormatStatus; error: string; info: string }): ResponseState {
  return create(ResponseStateSchema, { status: STATUS[r.status], error: r.error, info: r.info });
}

/** Maps the flow's results onto StorageFormatResp (SCM sorted by instance). */
export function toStorageFormatResp(out: FormatOutcome): StorageFormatResp {
  return create(StorageFormatRespSchema, {
    mrets: [...out.scm].sort((a, b) => a.instanceIdx - b.instanceIdx).map((r) =>
      create(ScmMountResultSchema, {
        mntpoint: r.mountPoint,
        instanceidx: r.instanceIdx,
        state: responseState(r),
      })
    ),
    crets: out.bdevs.map((r) =>
      create(NvmeControllerResultSchema, {
        pciAddr: r.device,
        roleBits: r.roleBits,
        state: responseState(r),
      })
    ),
  });
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
