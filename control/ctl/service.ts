/** Assembles the ctl.CtlSvc handlers this host serves. */
import type { ServiceImpl } from "@connectrpc/connect";
import type { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { networkScan, type NetworkScanSource } from "./network_scan.ts";
import { storageScan, type StorageScanSource } from "./storage_scan.ts";

/** The CtlSvc methods; methods left out answer Unimplemented. */
export type CtlHandlers = Partial<ServiceImpl<typeof CtlSvc>>;

/** Sources of the scans. */
export interface CtlSources {
  network: NetworkScanSource;
  storage: StorageScanSource;
}

/**
 * The scan handlers merged with `extra` (format, rank control, … registered by the modules
 * that own them). A method in `extra` replaces the built-in one.
 */
export function ctlService(src: CtlSources, extra: CtlHandlers = {}): CtlHandlers {
  return {
    networkScan: (req) => networkScan(req, src.network),
    storageScan: (req) => storageScan(req, src.storage),
    ...extra,
  };
}
