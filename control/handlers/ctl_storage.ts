/**
 * ctl.CtlSvc storage calls (server.md §3): StorageScan over this host's scan source (the NVMe
 * part over the running engines' dRPC) and StorageFormat through the storage module's format
 * flow, one format at a time per server (the context's format lock).
 */
import type { HandlerContext } from "@connectrpc/connect";
import type {
  StorageFormatReq,
  StorageFormatResp,
  StorageScanReq,
  StorageScanResp,
} from "../../proto/gen/ts/ctl/storage_pb.ts";
import {
  harnessFormatInstances,
  stoppedInstances,
  toStorageFormatResp,
} from "../ctl/storage_format.ts";
import { storageScan } from "../ctl/storage_scan.ts";
import { formatHostStorage, type FormatInstance } from "../storage/format.ts";
import type { ServerContext } from "./server_context.ts";

/** What the storage calls use of the server context. */
export type StorageContext = Pick<
  ServerContext,
  "config" | "hostname" | "formatGate" | "formatLock" | "scan" | "harness"
>;

/** The storage CtlSvc methods. */
export interface CtlStorageHandlers {
  storageScan(req: StorageScanReq, ctx: HandlerContext): Promise<StorageScanResp>;
  /** Waits for an earlier format on this server, then formats this host's storage. */
  storageFormat(req: StorageFormatReq): Promise<StorageFormatResp>;
}

/**
 * This host's instances for the format flow: the harness's (running state, SIGKILL before a
 * reformat) once it exists, else every engine counts as stopped.
 */
export function formatInstances(ctx: Pick<ServerContext, "config" | "harness">): FormatInstance[] {
  const h = ctx.harness();
  return h ? harnessFormatInstances(ctx.config, h.instances) : stoppedInstances(ctx.config);
}

/** Builds StorageScan and StorageFormat over `ctx`. */
export function ctlStorageHandlers(ctx: StorageContext): CtlStorageHandlers {
  return {
    storageScan: (req, hctx) => storageScan(req, ctx.scan.storage, { timeoutMs: hctx.timeoutMs() }),
    storageFormat: (req) =>
      ctx.formatLock.run(async () => {
        const out = await formatHostStorage(
          ctx.config,
          formatInstances(ctx),
          { reformat: req.reformat, replace: req.replace },
          { hostname: ctx.hostname, gate: ctx.formatGate },
        );
        return toStorageFormatResp(out);
      }),
  };
}
