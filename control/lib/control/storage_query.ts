/**
 * The SMD family (DAOS lib/control/smd.go): SmdQuery fanned out to the hosts (each host's
 * devices over its ready ranks), and SmdManage for set-faulty and replace, sent only to the
 * hosts that hold the device. Per-device failures become host errors naming the device.
 */
import { create } from "@bufbuild/protobuf";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import {
  LedAction,
  LedState,
  NvmeDevState,
  type SmdDevice,
  SmdManageReqSchema,
  type SmdManageResp,
  SmdQueryReqSchema,
  type SmdQueryResp,
} from "../../../proto/gen/ts/ctl/smd_pb.ts";
import { DaosStatusError } from "../fault.ts";
import { NilRank } from "../rankset.ts";
import { foldResults, type HostAnswers } from "./host_errors.ts";
import type { Invoker } from "./invoker.ts";
import type { FanOutTargets } from "./storage.ts";

/** A device UUID as SMD records it (8-4-4-4-12 hex digits). */
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Throws unless `uuid` is a UUID; `flag` names the option in the message. */
export function checkDeviceUuid(uuid: string, flag: string): void {
  if (!UUID_RE.test(uuid)) {
    throw new Error(
      `invalid device UUID "${uuid}" (${flag}): want 36 characters, 8-4-4-4-12 hex digits ` +
        `as 'dmg storage query list-devices' prints them`,
    );
  }
}

/** What to list. */
export interface SmdQueryRequest {
  /** Only this rank's devices (NilRank or undefined: all). */
  rank?: number;
  /** Only this device ("" or undefined: all). */
  uuid?: string;
  /** Include BIO health for each device. */
  health?: boolean;
  /** Keep only evicted (faulty) devices. */
  evictedOnly?: boolean;
}

/** One host's SMD information: its devices in rank order (pools: none on these engines). */
export interface HostSmd {
  devices: SmdDevice[];
}

/** SmdQuery on every target, devices flattened per host. */
export async function smdQuery(
  inv: Invoker,
  opts: FanOutTargets,
  req: SmdQueryRequest,
): Promise<HostAnswers<HostSmd>> {
  if (req.uuid) checkDeviceUuid(req.uuid, "--uuid");
  const { targets, ...fan } = opts;
  const request = create(SmdQueryReqSchema, {
    omitPools: true,
    includeBioHealth: req.health === true,
    uuid: req.uuid ?? "",
    rank: req.rank ?? NilRank,
  });
  const results = await inv.fanOut(targets, CtlSvc.method.smdQuery, request, {
    ...fan,
    name: "SmdQuery",
  });
  return foldResults(results, (_addr, resp: SmdQueryResp) => {
    let devices = resp.ranks.flatMap((r) => r.devices);
    if (req.evictedOnly) {
      devices = devices.filter((d) => d.ctrlr?.devState === NvmeDevState.EVICTED);
    }
    return { devices };
  });
}

/** A set-faulty or replace operation. */
export type SmdManageOp =
  | { op: "set-faulty"; uuid: string }
  | { op: "dev-replace"; oldUuid: string; newUuid: string };

/** The device an operation starts from. */
function opDevice(op: SmdManageOp): string {
  return op.op === "set-faulty" ? op.uuid : op.oldUuid;
}

/**
 * Finds the hosts holding the operation's device (an SmdQuery by uuid), then sends SmdManage
 * to them. A device on no answering host fails the command (`device <uuid> not found`); a
 * non-zero result status is a host error `<op> on device <uuid>: <DER status>`.
 */
export async function smdManage(
  inv: Invoker,
  opts: FanOutTargets,
  op: SmdManageOp,
): Promise<HostAnswers<HostSmd>> {
  checkDeviceUuid(opDevice(op), op.op === "set-faulty" ? "--uuid" : "--old-uuid");
  if (op.op === "dev-replace") checkDeviceUuid(op.newUuid, "--new-uuid");
  const found = await smdQuery(inv, opts, { uuid: opDevice(op) });
  const holders = found.answers.filter((a) => a.payload.devices.length > 0).map((a) => a.addr);
  if (holders.length === 0) {
    const why = found.hostErrors.empty
      ? ""
      : ` (${found.hostErrors.summary()}: ${
        found.hostErrors.groups().map((g) => g.error).join("; ")
      })`;
    throw new Error(`device ${opDevice(op)} not found on any host${why}`);
  }
  const { targets: _t, ...fan } = opts;
  const request = create(SmdManageReqSchema, {
    op: op.op === "set-faulty"
      ? { case: "faulty", value: { uuid: op.uuid } }
      : { case: "replace", value: { oldDevUuid: op.oldUuid, newDevUuid: op.newUuid } },
  });
  const results = await inv.fanOut(holders, CtlSvc.method.smdManage, request, {
    ...fan,
    name: "SmdManage",
  });
  const out = foldResults(results, (addr, resp: SmdManageResp, errors) => {
    const devices: SmdDevice[] = [];
    for (const rr of resp.ranks) {
      for (const res of rr.results) {
        if (res.status !== 0) {
          const dev = res.device?.uuid || opDevice(op);
          errors.add(
            addr,
            new Error(`${op.op} on device ${dev}: ${new DaosStatusError(res.status).message}`),
          );
        } else if (res.device) {
          devices.push({ ...res.device, rank: rr.rank });
        }
      }
    }
    return { devices };
  });
  // Hosts that could not be asked where the device is are reported too.
  for (const f of found.hostErrors.failures) out.hostErrors.add(f.addr, f.error);
  return out;
}

/** An LED request: check, blink for `minutes` (0: the engine's default), or reset. */
export interface LedRequest {
  ids: string;
  action: "check" | "identify" | "reset";
  minutes?: number;
}

/**
 * SmdManage LED on every target; hosts without VMD refuse it (a host error with their text),
 * as do devices a host does not have.
 */
export async function smdLed(
  inv: Invoker,
  opts: FanOutTargets,
  req: LedRequest,
): Promise<HostAnswers<HostSmd>> {
  const { targets, ...fan } = opts;
  const request = create(SmdManageReqSchema, {
    op: {
      case: "led",
      value: {
        ids: req.ids,
        ledAction: req.action === "check"
          ? LedAction.GET
          : req.action === "reset"
          ? LedAction.RESET
          : LedAction.SET,
        ledState: req.action === "identify" ? LedState.QUICK_BLINK : LedState.NA,
        ledDurationMins: req.minutes ?? 0,
      },
    },
  });
  const results = await inv.fanOut(targets, CtlSvc.method.smdManage, request, {
    ...fan,
    name: "SmdManage",
  });
  return foldResults(results, (addr, resp: SmdManageResp, errors) => {
    const devices: SmdDevice[] = [];
    for (const rr of resp.ranks) {
      for (const res of rr.results) {
        if (res.status !== 0) {
          const dev = res.device?.ctrlr?.pciAddr || res.device?.uuid || req.ids;
          errors.add(
            addr,
            new Error(`led ${req.action} on ${dev}: ${new DaosStatusError(res.status).message}`),
          );
        } else if (res.device) devices.push({ ...res.device, rank: rr.rank });
      }
    }
    return { devices };
  });
}
