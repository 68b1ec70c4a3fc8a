/**
 * mgmt.MgmtSvc as served by a daos_server that is not an MS replica (discovery mode, or a host
 * not listed in mgmt_svc_replicas): after the system-name check every call, LeaderQuery
 * included, answers the not-replica error naming the replicas (server.md §5.1–5.2).
 */
import type { ServiceImpl } from "@connectrpc/connect";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import type { ServerConfig } from "../config/types.ts";
import { Fault } from "../lib/fault.ts";
import { checkRequestSystem } from "../lib/system_name.ts";
import { faultError, notReplicaError } from "../lib/rpc/error_codec.ts";

/**
 * Throws the fault 603 wire error when `sys` (possibly suffixed with a version) does not name
 * `systemName` (the rule: {@link checkRequestSystem}).
 */
export function checkSystemName(sys: string, systemName: string): void {
  try {
    checkRequestSystem(sys, systemName);
  } catch (e) {
    throw e instanceof Fault ? faultError(e) : e;
  }
}

function sysOf(req: unknown): string | undefined {
  if (typeof req === "object" && req !== null && "sys" in req && typeof req.sys === "string") {
    return req.sys;
  }
  return undefined;
}

/** What the non-replica MgmtSvc uses: the system name and the replicas as configured. */
export interface NonReplicaContext {
  readonly config: Pick<ServerConfig, "name" | "mgmtSvcReplicas">;
}

/** Every MgmtSvc method, answering "not a replica (try one of mgmt_svc_replicas)". */
export function nonReplicaMgmtService({ config }: NonReplicaContext): ServiceImpl<typeof MgmtSvc> {
  const handler = (req: unknown): never => {
    const sys = sysOf(req);
    if (sys !== undefined) checkSystemName(sys, config.name);
    throw notReplicaError([...config.mgmtSvcReplicas]);
  };
  const impl: Record<string, (req: unknown) => never> = {};
  for (const m of MgmtSvc.methods) impl[m.localName] = handler;
  // Built from the descriptor so new MgmtSvc methods are covered without listing them.
  return impl as unknown as ServiceImpl<typeof MgmtSvc>;
}
