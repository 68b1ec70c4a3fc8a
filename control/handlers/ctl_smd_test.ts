/**
 * SmdQuery, SmdManage and SetEngineLogMasks handlers over fake engines that answer the dRPC
 * methods as the engine's mgmt module does (device table with states, log masks).
 */
import { deepEqual, equal, rejects } from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { SetLogMasksReqSchema } from "../../proto/gen/ts/ctl/server_pb.ts";
import {
  BioHealthReqSchema,
  BioHealthRespSchema,
  DevManageRespSchema,
  DevReplaceReqSchema,
  NvmeDevState,
  SetFaultyReqSchema,
  SmdDevRespSchema,
  SmdManageReqSchema,
  SmdPoolRespSchema,
  SmdQueryReqSchema,
} from "../../proto/gen/ts/ctl/smd_pb.ts";
import {
  SetLogMasksReqSchema as EngineReq,
  SetLogMasksRespSchema as EngineResp,
} from "../../proto/gen/ts/mgmt/srv_pb.ts";
import type { EngineConfig } from "../config/types.ts";
import { MgmtMethod } from "../drpc/ids.ts";
import { hasFaultCode } from "../lib/fault.ts";
import { NilRank } from "../lib/rankset.ts";
import {
  ctlSmdHandlers,
  setEngineLogMasks,
  type SmdEngine,
  smdManage,
  smdQuery,
  type SmdSource,
} from "./ctl_smd.ts";

const U0 = "8d36a3a7-6f55-4b1f-9c5d-1a2b3c4d5e6f";
const U1 = "0b1c2d3e-4f50-4617-8899-aabbccddeeff";

/** A fake engine: devices with states; records every dRPC call. */
class FakeEngine implements SmdEngine {
  calls: { method: number; body: Uint8Array }[] = [];
  masks: string[] = [];
  /** What SMD_LIST_POOLS answers: the rank's VOS pools, or a failure status. */
  pools: { uuid: string; tgtIds: number[]; blobs: bigint[] }[] = [];
  poolStatus = 0;
  constructor(
    readonly index: number,
    public rankNo: number | null,
    public devices: { uuid: string; path: string; state: NvmeDevState }[],
    public ready = true,
  ) {}
  isReady(): boolean {
    return this.ready;
  }
  rank(): number | null {
    return this.rankNo;
  }
  callMgmt(method: number, body: Uint8Array): Promise<Uint8Array> {
    this.calls.push({ method, body });
    const find = (u: string) => this.devices.find((d) => d.uuid === u);
    const devMsg = (d: { uuid: string; state: NvmeDevState }) => ({
      uuid: d.uuid,
      ctrlr: { devState: d.state },
    });
    switch (method) {
      case MgmtMethod.SMD_LIST_DEVS:
        return Promise.resolve(toBinary(
          SmdDevRespSchema,
          create(SmdDevRespSchema, {
            devices: this.devices.map((d) => ({
              uuid: d.uuid,
              tgtIds: [0],
              bdevPath: d.path,
              bdevClass: "file",
              ctrlr: { devState: d.state },
            })),
          }),
        ));
      case MgmtMethod.BIO_HEALTH_QUERY: {
        const u = fromBinary(BioHealthReqSchema, body).devUuid;
        return Promise.resolve(toBinary(
          BioHealthRespSchema,
          create(BioHealthRespSchema, {
            devUuid: u,
            temperature: 310,
            status: find(u) ? 0 : -1005,
          }),
        ));
      }
      case MgmtMethod.DEV_SET_FAULTY: {
        const d = find(fromBinary(SetFaultyReqSchema, body).uuid);
        let status = d ? 0 : -1005;
        if (d && d.state !== NvmeDevState.NORMAL) status = -1003;
        else if (d) d.state = NvmeDevState.EVICTED;
        return Promise.resolve(toBinary(
          DevManageRespSchema,
          create(DevManageRespSchema, { status, device: d ? devMsg(d) : undefined }),
        ));
      }
      case MgmtMethod.DEV_REPLACE: {
        const r = fromBinary(DevReplaceReqSchema, body);
        const d = find(r.oldDevUuid);
        let status = d ? 0 : -1005;
        if (d && (d.state !== NvmeDevState.EVICTED || r.newDevUuid !== r.oldDevUuid)) {
          status = -1003;
        } else if (d) d.state = NvmeDevState.NORMAL;
        return Promise.resolve(toBinary(
          DevManageRespSchema,
          create(DevManageRespSchema, { status, device: d ? devMsg(d) : undefined }),
        ));
      }
      case MgmtMethod.SMD_LIST_POOLS:
        return Promise.resolve(toBinary(
          SmdPoolRespSchema,
          create(SmdPoolRespSchema, { status: this.poolStatus, pools: this.pools }),
        ));
      case MgmtMethod.SET_LOG_MASKS: {
        const m = fromBinary(EngineReq, body).masks;
        this.masks.push(m);
        return Promise.resolve(
          toBinary(EngineResp, create(EngineResp, { status: m === "LOUD" ? -1003 : 0 })),
        );
      }
    }
    return Promise.reject(new Error(`unexpected method ${method}`));
  }
}

function source(engines: FakeEngine[]): SmdSource {
  const cfg = (i: number) =>
    ({
      logMask: `CFG${i}`,
      bdevs: [{ bdevList: [`/bdev/${i}`], roleBits: 3 }],
    }) as unknown as EngineConfig;
  return { engines: () => engines, engineConfig: cfg };
}

function twoEngines(): FakeEngine[] {
  return [
    new FakeEngine(0, 0, [{ uuid: U0, path: "/bdev/0", state: NvmeDevState.NORMAL }]),
    new FakeEngine(1, 1, [{ uuid: U1, path: "/bdev/1", state: NvmeDevState.EVICTED }]),
  ];
}

const q = (init: Parameters<typeof create<typeof SmdQueryReqSchema>>[1] = {}) =>
  create(SmdQueryReqSchema, { omitPools: true, rank: NilRank, ...init });

Deno.test("SmdQuery: one entry per ready rank, roles from the config, rank and uuid filters", async () => {
  const engines = twoEngines();
  let r = await smdQuery(source(engines), q());
  deepEqual(r.ranks.map((x) => [x.rank, x.devices.map((d) => [d.uuid, d.rank, d.roleBits])]), [
    [0, [[U0, 0, 3]]],
    [1, [[U1, 1, 3]]],
  ]);
  r = await smdQuery(source(engines), q({ rank: 1 }));
  deepEqual(r.ranks.map((x) => x.rank), [1]);
  r = await smdQuery(source(engines), q({ uuid: U1 }));
  deepEqual(r.ranks.map((x) => x.devices.length), [0, 1]);
  // No health calls unless asked.
  equal(engines[0].calls.some((c) => c.method === MgmtMethod.BIO_HEALTH_QUERY), false);
});

Deno.test("SmdQuery with health: each device's BIO health attached (evicted ones too)", async () => {
  const engines = twoEngines();
  const r = await smdQuery(source(engines), q({ includeBioHealth: true }));
  deepEqual(r.ranks.map((x) => x.devices[0].ctrlr?.healthStats?.temperature), [310, 310]);
});

Deno.test("SmdQuery: harness not started (610), no ready engine (611), ambiguous uuid", async () => {
  const h = ctlSmdHandlers({ harness: () => null, config: { engines: [] } as never });
  await rejects(h.smdQuery(q()), (e) => hasFaultCode(e, 610));
  const engines = twoEngines();
  engines.forEach((e) => (e.ready = false));
  await rejects(smdQuery(source(engines), q()), (e) => hasFaultCode(e, 611));
  await rejects(
    smdQuery(source(twoEngines()), q({ uuid: U0, omitPools: false })),
    /UUID is ambiguous when querying both pools and devices/,
  );
});

Deno.test("SmdManage set-faulty: only the owning engine is asked; NORMAL → EVICTED once", async () => {
  const engines = twoEngines();
  const req = create(SmdManageReqSchema, { op: { case: "faulty", value: { uuid: U0 } } });
  let r = await smdManage(source(engines), req);
  deepEqual(r.ranks.map((x) => [x.rank, x.results[0].status]), [[0, 0]]);
  equal(engines[0].devices[0].state, NvmeDevState.EVICTED);
  equal(engines[1].calls.some((c) => c.method === MgmtMethod.DEV_SET_FAULTY), false);
  // Again: the engine refuses (not NORMAL any more), the result names the device.
  r = await smdManage(source(engines), req);
  deepEqual([r.ranks[0].results[0].status, r.ranks[0].results[0].device?.uuid], [-1003, U0]);
});

Deno.test("SmdManage replace: evicted device reused; unknown and malformed ids refused", async () => {
  const engines = twoEngines();
  const rep = (o: string, n: string) =>
    create(SmdManageReqSchema, {
      op: { case: "replace", value: { oldDevUuid: o, newDevUuid: n } },
    });
  let r = await smdManage(source(engines), rep(U1, U1));
  deepEqual(r.ranks.map((x) => [x.rank, x.results[0].status]), [[1, 0]]);
  equal(engines[1].devices[0].state, NvmeDevState.NORMAL);
  r = await smdManage(source(engines), rep(U0, U0));
  equal(r.ranks[0].results[0].status, -1003); // U0 is NORMAL: nothing to replace
  await rejects(
    smdManage(source(engines), rep("11111111-2222-4333-8444-555555555555", U0)),
    /ids requested but not found: \[11111111-2222-4333-8444-555555555555\]/,
  );
  await rejects(smdManage(source(engines), rep("junk", U0)), /neither a valid vmd backing device/);
});

Deno.test("SmdManage LED: refused (no VMD), no engine called", async () => {
  const engines = twoEngines();
  await rejects(
    smdManage(
      source(engines),
      create(SmdManageReqSchema, { op: { case: "led", value: { ids: U0 } } }),
    ),
    /LED management needs VMD-managed NVMe devices/,
  );
  equal(engines[0].calls.length + engines[1].calls.length, 0);
});

Deno.test("SetEngineLogMasks: every engine; unset masks → configured log_mask; errors per engine", async () => {
  const engines = twoEngines();
  let r = await setEngineLogMasks(
    source(engines),
    create(SetLogMasksReqSchema, { masks: "DEBUG" }),
  );
  deepEqual(r.errors, []);
  deepEqual([engines[0].masks, engines[1].masks], [["DEBUG"], ["DEBUG"]]);
  r = await setEngineLogMasks(source(engines), create(SetLogMasksReqSchema, { resetMasks: true }));
  deepEqual([engines[0].masks[1], engines[1].masks[1]], ["CFG0", "CFG1"]);
  engines[1].ready = false;
  r = await setEngineLogMasks(source(engines), create(SetLogMasksReqSchema, { masks: "LOUD" }));
  deepEqual(r.errors, [
    'engine-0: DER_INVAL(-1003): Invalid parameters (masks "LOUD")',
    "engine-1: not ready",
  ]);
  await rejects(
    setEngineLogMasks(source([]), create(SetLogMasksReqSchema, {})),
    /no engine instances to service request/,
  );
});

const P0 = "11111111-2222-4333-8444-555555555555";
const P1 = "66666666-7777-4888-9999-aaaaaaaaaaaa";

Deno.test("SmdQuery pools: each ready rank's VOS pools from dRPC 212, uuid filter", async () => {
  const engines = twoEngines();
  engines[0].pools = [{ uuid: P0, tgtIds: [0, 1], blobs: [0n, 0n] }];
  engines[1].pools = [
    { uuid: P0, tgtIds: [0, 1], blobs: [4096n, 8192n] },
    { uuid: P1, tgtIds: [1], blobs: [0n] },
  ];
  let r = await smdQuery(source(engines), q({ omitPools: false, omitDevices: true }));
  deepEqual(
    r.ranks.map((x) => [x.rank, x.devices.length, x.pools.map((p) => [p.uuid, p.tgtIds, p.blobs])]),
    [
      [0, 0, [[P0, [0, 1], [0n, 0n]]]],
      [1, 0, [[P0, [0, 1], [4096n, 8192n]], [P1, [1], [0n]]]],
    ],
  );
  // Devices were not listed; pools were asked of each engine once.
  equal(engines[0].calls.some((c) => c.method === MgmtMethod.SMD_LIST_DEVS), false);
  equal(engines[1].calls.filter((c) => c.method === MgmtMethod.SMD_LIST_POOLS).length, 1);
  r = await smdQuery(source(engines), q({ omitPools: false, omitDevices: true, uuid: P1 }));
  deepEqual(r.ranks.map((x) => x.pools.map((p) => p.uuid)), [[], [P1]]);
  r = await smdQuery(source(engines), q({ omitPools: false, omitDevices: true, rank: 0 }));
  deepEqual(r.ranks.map((x) => x.rank), [0]);
});

Deno.test("SmdQuery pools: omit_pools skips dRPC 212; an engine failure names its rank", async () => {
  const engines = twoEngines();
  engines[0].pools = [{ uuid: P0, tgtIds: [0], blobs: [0n] }];
  const r = await smdQuery(source(engines), q());
  deepEqual(r.ranks.map((x) => x.pools.length), [0, 0]);
  equal(engines[0].calls.some((c) => c.method === MgmtMethod.SMD_LIST_POOLS), false);
  engines[1].poolStatus = -1006;
  await rejects(
    smdQuery(source(engines), q({ omitPools: false, omitDevices: true })),
    /rank 1: listing pools \(SMD_LIST_POOLS\): DER_UNREACH\(-1006\)/,
  );
});
