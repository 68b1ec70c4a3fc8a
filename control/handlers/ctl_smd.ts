/**
 * ctl.CtlSvc calls about this host's engines' devices and logging (DAOS ctl_smd_rpc.go and
 * SetEngineLogMasks): SmdQuery lists the ready engines' SMD devices (dRPC 211, health 210),
 * SmdManage sets a device faulty (220) or replaces it (221) on the engine that owns it, and
 * SetEngineLogMasks sends the masks to every engine (238). LED management is refused: this
 * control plane drives no VMD, so there is no LED to check or blink.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type SetLogMasksReq,
  type SetLogMasksResp,
  SetLogMasksRespSchema,
} from "../../proto/gen/ts/ctl/server_pb.ts";
import {
  BioHealthReqSchema,
  BioHealthRespSchema,
  DevManageRespSchema,
  DevReplaceReqSchema,
  NvmeControllerSchema,
  NvmeDevState,
  SetFaultyReqSchema,
  type SmdDevice,
  SmdDevReqSchema,
  SmdDevRespSchema,
  type SmdManageReq,
  type SmdManageResp,
  type SmdManageResp_Result,
  SmdManageResp_ResultSchema,
  SmdManageRespSchema,
  SmdPoolReqSchema,
  SmdPoolRespSchema,
  type SmdQueryReq,
  type SmdQueryResp,
  type SmdQueryResp_Pool,
  SmdQueryRespSchema,
} from "../../proto/gen/ts/ctl/smd_pb.ts";
import {
  SetLogMasksReqSchema as EngineLogMasksReqSchema,
  SetLogMasksRespSchema as EngineLogMasksRespSchema,
} from "../../proto/gen/ts/mgmt/srv_pb.ts";
import type { EngineConfig } from "../config/types.ts";
import { deviceRoleBits } from "../ctl/nvme_engine_scan.ts";
import { MgmtMethod } from "../drpc/ids.ts";
import { DaosStatusError, errorText, faults } from "../lib/fault.ts";
import { NilRank } from "../lib/rankset.ts";
import { type ServerContext, startedHarness } from "./server_context.ts";

/** One local engine as these calls see it (the harness's EngineInstance fits). */
export interface SmdEngine {
  readonly index: number;
  isReady(): boolean;
  rank(): number | null;
  /** Calls a method of the engine's mgmt module; returns the response body. */
  callMgmt(method: number, body: Uint8Array, timeoutMs?: number): Promise<Uint8Array>;
}

/** Where the calls find the engines and their configuration. */
export interface SmdSource {
  /** The local engines; throws fault 610 when the harness has not started. */
  engines(): SmdEngine[];
  /** Engine `index`'s configuration (log_mask), if any. */
  engineConfig(index: number): EngineConfig | undefined;
}

/** The SMD and log-mask CtlSvc methods. */
export interface CtlSmdHandlers {
  smdQuery(req: SmdQueryReq): Promise<SmdQueryResp>;
  smdManage(req: SmdManageReq): Promise<SmdManageResp>;
  setEngineLogMasks(req: SetLogMasksReq): Promise<SetLogMasksResp>;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The ready engines, or fault 611 when none is (the reference's data-plane check). */
function readyEngines(src: SmdSource): SmdEngine[] {
  const ready = src.engines().filter((e) => e.isReady() && e.rank() !== null);
  if (ready.length === 0) throw faults.ServerDataPlaneNotStarted();
  return ready;
}

async function listDevices(e: SmdEngine): Promise<SmdDevice[]> {
  const body = await e.callMgmt(
    MgmtMethod.SMD_LIST_DEVS,
    toBinary(SmdDevReqSchema, create(SmdDevReqSchema, {})),
  );
  const resp = fromBinary(SmdDevRespSchema, body);
  if (resp.status !== 0) {
    throw new Error(`rank ${e.rank()}: ${new DaosStatusError(resp.status).message}`);
  }
  return resp.devices;
}

/** Devices of one rank, filtered by uuid, with health for devices that can give it. */
async function rankDevices(
  e: SmdEngine,
  cfg: EngineConfig | undefined,
  req: SmdQueryReq,
): Promise<SmdDevice[]> {
  let devs = await listDevices(e);
  if (req.uuid !== "") devs = devs.filter((d) => d.uuid.toLowerCase() === req.uuid.toLowerCase());
  for (const d of devs) {
    d.rank = e.rank() ?? NilRank;
    // The engine does not know its tiers' roles; the config does.
    d.roleBits ||= deviceRoleBits(cfg, d.bdevPath || d.ctrlr?.pciAddr || "");
    d.ctrlr ??= create(NvmeControllerSchema, {});
    // The reference skips health only for NEW devices; an evicted one still answers.
    if (!req.includeBioHealth || d.ctrlr.devState === NvmeDevState.NEW) continue;
    const body = await e.callMgmt(
      MgmtMethod.BIO_HEALTH_QUERY,
      toBinary(BioHealthReqSchema, create(BioHealthReqSchema, { devUuid: d.uuid })),
    );
    const h = fromBinary(BioHealthRespSchema, body);
    if (h.status !== 0) {
      throw new Error(`device ${d.uuid}: ${new DaosStatusError(h.status).message}`);
    }
    d.ctrlr.healthStats = h;
  }
  return devs;
}

/**
 * The pools with shards on one rank (dRPC 212 SMD_LIST_POOLS): uuid, the rank's target ids
 * and their NVMe blob ids; filtered by `uuid` when one is given.
 */
async function rankPools(e: SmdEngine, uuid: string): Promise<SmdQueryResp_Pool[]> {
  const body = await e.callMgmt(
    MgmtMethod.SMD_LIST_POOLS,
    toBinary(SmdPoolReqSchema, create(SmdPoolReqSchema, {})),
  );
  const resp = fromBinary(SmdPoolRespSchema, body);
  if (resp.status !== 0) {
    throw new Error(
      `rank ${e.rank()}: listing pools (SMD_LIST_POOLS): ` +
        new DaosStatusError(resp.status).message,
    );
  }
  return resp.pools
    .filter((p) => uuid === "" || p.uuid.toLowerCase() === uuid.toLowerCase())
    .map((p) => ({
      $typeName: "ctl.SmdQueryResp.Pool",
      uuid: p.uuid,
      tgtIds: p.tgtIds,
      blobs: p.blobs,
    }));
}

/** SmdQuery over `src`: one RankResp per ready engine (of `req.rank` unless nil). */
export async function smdQuery(src: SmdSource, req: SmdQueryReq): Promise<SmdQueryResp> {
  const engines = readyEngines(src);
  if (req.uuid !== "" && !req.omitDevices && !req.omitPools) {
    throw new Error("UUID is ambiguous when querying both pools and devices");
  }
  const resp = create(SmdQueryRespSchema, {});
  for (const e of engines) {
    const rank = e.rank()!;
    if (req.rank !== NilRank && req.rank !== rank) continue;
    resp.ranks.push({
      $typeName: "ctl.SmdQueryResp.RankResp",
      rank,
      devices: req.omitDevices ? [] : await rankDevices(e, src.engineConfig(e.index), req),
      pools: req.omitPools ? [] : await rankPools(e, req.uuid),
    });
  }
  resp.ranks.sort((a, b) => a.rank - b.rank);
  return resp;
}

/** The engine owning device `uuid`, or the reference's "not found" error. */
async function ownerOf(engines: SmdEngine[], uuid: string): Promise<SmdEngine> {
  if (!UUID_RE.test(uuid)) {
    throw new Error(
      `req id entry "${uuid}" is neither a valid vmd backing device pci address or uuid`,
    );
  }
  for (const e of engines) {
    if ((await listDevices(e)).some((d) => d.uuid.toLowerCase() === uuid.toLowerCase())) return e;
  }
  throw new Error(`mapping device identifiers to engine: ids requested but not found: [${uuid}]`);
}

async function manage(
  e: SmdEngine,
  method: number,
  body: Uint8Array,
  uuid: string,
): Promise<SmdManageResp_Result> {
  const resp = fromBinary(DevManageRespSchema, await e.callMgmt(method, body));
  const res = create(SmdManageResp_ResultSchema, { status: resp.status, device: resp.device });
  // A failure names its device, so the client can say which one failed.
  if (res.status !== 0 && res.device === undefined) {
    res.device = { $typeName: "ctl.SmdDevice", uuid } as SmdDevice;
  }
  return res;
}

/** SmdManage over `src`: set-faulty and replace on the owning engine; LED refused. */
export async function smdManage(src: SmdSource, req: SmdManageReq): Promise<SmdManageResp> {
  const engines = readyEngines(src);
  const op = req.op;
  if (op.case === "led") {
    throw new Error(
      "LED management needs VMD-managed NVMe devices; this host's devices are not behind VMD " +
        "(no status LED to check or set)",
    );
  }
  if (op.case === undefined) throw new Error("Unrecognized operation in SmdManageReq");
  const uuid = op.case === "faulty" ? op.value.uuid : op.value.oldDevUuid;
  if (uuid === "") throw new Error("mapping device identifiers to engine: empty id string");
  const e = await ownerOf(engines, uuid);
  const result = op.case === "faulty"
    ? await manage(
      e,
      MgmtMethod.DEV_SET_FAULTY,
      toBinary(SetFaultyReqSchema, create(SetFaultyReqSchema, { uuid: op.value.uuid })),
      uuid,
    )
    : await manage(
      e,
      MgmtMethod.DEV_REPLACE,
      toBinary(DevReplaceReqSchema, op.value),
      uuid,
    );
  return create(SmdManageRespSchema, { ranks: [{ rank: e.rank()!, results: [result] }] });
}

/**
 * SetEngineLogMasks over `src`: every engine gets the masks (an unset mask resets to the
 * engine's configured log_mask); an engine that is not ready or refuses adds
 * `engine-<i>: <why>` to the errors.
 */
export async function setEngineLogMasks(
  src: SmdSource,
  req: SetLogMasksReq,
): Promise<SetLogMasksResp> {
  const engines = src.engines();
  if (engines.length === 0) throw new Error("no engine instances to service request");
  const resp = create(SetLogMasksRespSchema, {});
  for (const e of engines) {
    const cfg = src.engineConfig(e.index);
    const masks = req.masks !== "" ? req.masks : cfg?.logMask ?? "";
    try {
      if (!e.isReady()) throw new Error("not ready");
      const body = await e.callMgmt(
        MgmtMethod.SET_LOG_MASKS,
        toBinary(
          EngineLogMasksReqSchema,
          create(EngineLogMasksReqSchema, {
            masks,
            streams: req.streams,
            subsystems: req.subsystems,
          }),
        ),
      );
      const r = fromBinary(EngineLogMasksRespSchema, body);
      if (r.status !== 0) {
        throw new Error(`${new DaosStatusError(r.status).message} (masks "${masks}")`);
      }
    } catch (err) {
      resp.errors.push(`engine-${e.index}: ${errorText(err)}`);
    }
  }
  return resp;
}

/** The source over a server context's harness. */
export function smdSource(ctx: Pick<ServerContext, "harness" | "config">): SmdSource {
  return {
    engines: () => startedHarness(ctx).instances,
    engineConfig: (i) => ctx.config.engines[i],
  };
}

/** Builds the SMD and log-mask handlers over `ctx`. */
export function ctlSmdHandlers(ctx: Pick<ServerContext, "harness" | "config">): CtlSmdHandlers {
  const src = smdSource(ctx);
  return {
    smdQuery: (req) => smdQuery(src, req),
    smdManage: (req) => smdManage(src, req),
    setEngineLogMasks: (req) => setEngineLogMasks(src, req),
  };
}
