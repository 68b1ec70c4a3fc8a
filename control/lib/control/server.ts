/**
 * Server-level requests (DAOS lib/control/server.go): SetEngineLogMasks fanned out to the
 * hosts (an engine that refused adds its `engine-<i>: <why>` text to its host's errors), and
 * the servers' version from the MS.
 */
import { create } from "@bufbuild/protobuf";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import { SetLogMasksReqSchema } from "../../../proto/gen/ts/ctl/server_pb.ts";
import { GetAttachInfoReqSchema } from "../../../proto/gen/ts/mgmt/attach_pb.ts";
import { MgmtSvc } from "../../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { foldResults, type HostAnswers } from "./host_errors.ts";
import type { Invoker } from "./invoker.ts";
import type { FanOutTargets } from "./storage.ts";
import type { MsOptions } from "./system.ts";

/** The masks to set; an undefined field resets the engines to their configured value. */
export interface LogMasksRequest {
  masks?: string;
  streams?: string;
  subsystems?: string;
}

/** SetEngineLogMasks on every target; the payload of a host that took the masks is `true`. */
export async function setEngineLogMasks(
  inv: Invoker,
  opts: FanOutTargets,
  req: LogMasksRequest,
): Promise<HostAnswers<true>> {
  const { targets, ...fan } = opts;
  const request = create(SetLogMasksReqSchema, {
    masks: req.masks ?? "",
    streams: req.streams ?? "",
    subsystems: req.subsystems ?? "",
    resetMasks: req.masks === undefined,
    resetStreams: req.streams === undefined,
    resetSubsystems: req.subsystems === undefined,
  });
  const results = await inv.fanOut(targets, CtlSvc.method.setEngineLogMasks, request, {
    ...fan,
    name: "SetEngineLogMasks",
  });
  const folded = foldResults(results, (addr, resp, errors) => {
    if (resp.errors.length > 0) errors.add(addr, new Error(resp.errors.join(", ")));
    return true as const;
  });
  // Only the hosts on which every engine took the masks count as updated.
  const failed = new Set(folded.hostErrors.failures.map((f) => f.addr));
  folded.answers = folded.answers.filter((a) => !failed.has(a.addr));
  return folded;
}

/** The servers' version from the MS (GetAttachInfo's build info), e.g. "2.9.100". */
export async function serverVersion(
  inv: Invoker,
  opts: MsOptions,
  sys: string,
): Promise<{ version: string; tag: string }> {
  const resp = await inv.msRequest(
    MgmtSvc.method.getAttachInfo,
    create(GetAttachInfoReqSchema, { sys, allRanks: true }),
    { ...opts, name: "GetAttachInfo" },
  );
  const b = resp.buildInfo;
  if (b === undefined) throw new Error("the MS answered without build information");
  return { version: `${b.major}.${b.minor}.${b.patch}`, tag: b.tag };
}
