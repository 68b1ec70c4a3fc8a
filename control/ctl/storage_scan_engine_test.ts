/**
 * StorageScan with running engines: NVMe from the engines' SMD lists (a fake engine answering
 * real encoded ctl.SmdDevResp / BioHealthResp bodies), SCM usage per ready rank, partial and
 * whole failures, and the usable-size adjustment.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { NilRank } from "../lib/rankset.ts";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ResponseStatus } from "../../proto/gen/ts/ctl/common_pb.ts";
import {
  BioHealthReqSchema,
  BioHealthRespSchema,
  NvmeControllerSchema,
  NvmeDevState,
  SmdDeviceSchema,
  SmdDevRespSchema,
} from "../../proto/gen/ts/ctl/smd_pb.ts";
import { StorageScanReqSchema } from "../../proto/gen/ts/ctl/storage_pb.ts";
import {
  engineYaml,
  fileTierYaml,
  LOCAL_SERVER_HEAD,
  parseConfig,
  ramTierYaml,
} from "../../tests/util/config_fixtures.ts";
import type { EngineConfig } from "../config/types.ts";
import { MgmtMethod } from "../drpc/ids.ts";
import { adjustNvmeUsable, type ScanEngine } from "./nvme_engine_scan.ts";
import { fakeMeminfo, fakeStorageSource } from "./testing.ts";
import {
  CONTROL_MD_BYTES,
  DEFAULT_RDB_BYTES,
  rdbBytes,
  SCM_FS_BYTES,
  storageScan,
  type StorageScanSource,
} from "./storage_scan.ts";

const GIB = 1024n ** 3n;
const MIB = 1024n ** 2n;

/** Two engines: ram SCM + one file bdev each (engine 1 with DAOS_MD_CAP and a data role). */
function twoEngines(): EngineConfig[] {
  const storage = (i: number) => ramTierYaml(`/mnt/d${i}`) + fileTierYaml([`/srv/bdev${i}`]);
  return parseConfig(
    LOCAL_SERVER_HEAD + engineYaml(storage(0), { targets: 2 }) +
      engineYaml(storage(1), {
        targets: 2,
        port: 31516,
        extra: "    env_vars: [DAOS_MD_CAP=256]\n",
      }),
    "test.yml",
  ).engines;
}

/** A fake engine answering SMD list and BIO health like engine-ffi/native's mgmt module. */
class FakeEngine implements ScanEngine {
  started = true;
  ready = true;
  /** The engine reported its dRPC socket (NotifyReady): calls work even before it joined. */
  socketKnown = true;
  /** awaitReady() makes it ready (start-up finishing during the wait). */
  readyOnWait = false;
  calls: number[] = [];
  healthUuids: string[] = [];
  constructor(
    readonly index: number,
    readonly myRank: number,
    readonly path: string,
    readonly bytes: bigint,
    readonly state = NvmeDevState.NORMAL,
  ) {}
  isStarted = () => this.started;
  isReady = () => this.ready && this.started;
  rank = () => this.myRank;
  awaitReady = () => {
    if (this.readyOnWait) this.ready = this.socketKnown = true;
    return Promise.resolve(this.isReady());
  };
  callMgmt(method: number, body: Uint8Array): Promise<Uint8Array> {
    if (!this.socketKnown) return Promise.reject(new Error("dRPC socket not ready"));
    this.calls.push(method);
    const uuid = `0000000${this.index}-0000-0000-0000-000000000000`;
    if (method === MgmtMethod.SMD_LIST_DEVS) {
      return Promise.resolve(toBinary(
        SmdDevRespSchema,
        create(SmdDevRespSchema, {
          devices: [create(SmdDeviceSchema, {
            uuid,
            tgtIds: [0, 1],
            totalBytes: this.bytes,
            availBytes: this.bytes,
            usableBytes: this.bytes,
            clusterSize: MIB,
            rank: this.myRank,
            bdevPath: this.path,
            bdevClass: "file",
            ctrlr: create(NvmeControllerSchema, { devState: this.state }),
          })],
        }),
      ));
    }
    if (method === MgmtMethod.BIO_HEALTH_QUERY) {
      const req = fromBinary(BioHealthReqSchema, body);
      this.healthUuids.push(req.devUuid);
      return Promise.resolve(toBinary(
        BioHealthRespSchema,
        create(BioHealthRespSchema, {
          devUuid: req.devUuid,
          totalBytes: this.bytes,
          availBytes: this.bytes - 3n * MIB,
          temperature: 300,
        }),
      ));
    }
    return Promise.reject(new Error(`unexpected method ${method}`));
  }
}

function source(e: EngineConfig[], inst: ScanEngine[]): StorageScanSource {
  return fakeStorageSource(e, {
    meminfo: () => Promise.resolve(fakeMeminfo({ hugepagesTotal: 0, hugepagesFree: 0 })),
    mount: (p) => Promise.resolve({ mountPoint: p, fsType: "tmpfs", source: "tmpfs" }),
    usage: () => Promise.resolve({ totalBytes: 4 * 1024 ** 3, availBytes: 4 * 1024 ** 3 - 4096 }),
    instances: () => inst,
  });
}

const usageReq = () =>
  create(StorageScanReqSchema, { scm: { usage: true }, nvme: { Health: true, Meta: true } });

Deno.test("storageScan: running engines' file bdevs become AIO controllers with their sizes", async () => {
  const e = twoEngines();
  const inst = [new FakeEngine(0, 4, "/srv/bdev0", GIB), new FakeEngine(1, 7, "/srv/bdev1", GIB)];
  const resp = await storageScan(usageReq(), source(e, inst));
  equal(resp.nvme?.state?.status, ResponseStatus.CTL_SUCCESS, resp.nvme?.state?.error ?? "");
  deepEqual(resp.nvme!.ctrlrs.map((c) => [c.pciAddr, c.model, c.devState]), [
    ["/srv/bdev0", "AIO file", NvmeDevState.NORMAL],
    ["/srv/bdev1", "AIO file", NvmeDevState.NORMAL],
  ]);
  const [c0, c1] = resp.nvme!.ctrlrs;
  deepEqual(c0.namespaces.map((n) => [n.id, n.size]), [[1, GIB]]);
  // Meta: the full device record, sizes from the health query, the engine's rank.
  const d0 = c0.smdDevices[0];
  deepEqual([d0.rank, d0.totalBytes, d0.availBytes, d0.bdevPath], [
    4,
    GIB,
    GIB - 3n * MIB,
    "/srv/bdev0",
  ]);
  equal(d0.usableBytes, 1020n * MIB, "1021 clusters of 1 MiB: 510 per target, 2 targets");
  equal(c1.smdDevices[0].rank, 7);
  equal(c0.healthStats?.temperature, 300);
  deepEqual(inst[0].healthUuids, ["00000000-0000-0000-0000-000000000000"]);

  // SCM with usage: ready ranks, usable = avail - RDB - control metadata - fs overhead.
  const [n0, n1] = resp.scm!.namespaces;
  const avail = 4n * GIB - 4096n;
  deepEqual([n0.mount?.rank, n0.mount?.availBytes], [4, avail]);
  equal(n0.mount?.usableBytes, avail - DEFAULT_RDB_BYTES - CONTROL_MD_BYTES - SCM_FS_BYTES);
  equal(n1.mount?.usableBytes, avail - 256n * MIB - CONTROL_MD_BYTES - SCM_FS_BYTES);
});

Deno.test("storageScan: basic scan keeps sizes, strips SMD, model and health; no health call", async () => {
  const e = twoEngines();
  const inst = [new FakeEngine(0, 0, "/srv/bdev0", GIB), new FakeEngine(1, 1, "/srv/bdev1", GIB)];
  const resp = await storageScan(
    create(StorageScanReqSchema, { nvme: { Basic: true } }),
    source(e, inst),
  );
  const c = resp.nvme!.ctrlrs[0];
  deepEqual([c.model, c.smdDevices.length, c.healthStats], ["", 0, undefined]);
  equal(c.namespaces[0].size, GIB);
  deepEqual(inst[0].calls, [MgmtMethod.SMD_LIST_DEVS]);
  // Without Meta the SMD record is minimal (rank, roles) so equal hosts fold together.
  const plain = await storageScan(create(StorageScanReqSchema, {}), source(e, inst));
  const d = plain.nvme!.ctrlrs[0].smdDevices[0];
  deepEqual([d.rank, d.totalBytes, d.uuid], [0, 0n, ""]);
});

Deno.test("storageScan: one engine stopped → its error in the state, the other's devices kept", async () => {
  const e = twoEngines();
  const inst = [new FakeEngine(0, 0, "/srv/bdev0", GIB), new FakeEngine(1, 1, "/srv/bdev1", GIB)];
  inst[1].started = false;
  const resp = await storageScan(usageReq(), source(e, inst));
  equal(resp.nvme?.state?.status, ResponseStatus.CTL_ERR_NVME);
  equal(resp.nvme?.state?.error, "instance 1: meta smd usage info unavailable as engine stopped");
  deepEqual(resp.nvme!.ctrlrs.map((c) => c.pciAddr), ["/srv/bdev0"]);
  // Its SCM namespace: rank Nil and zero sizes.
  const n1 = resp.scm!.namespaces[1];
  deepEqual([n1.mount?.rank, n1.mount?.totalBytes, n1.mount?.usableBytes], [NilRank, 0n, 0n]);

  // Started, socket reported, not joined yet: it answers already.
  inst[1].started = true;
  inst[1].ready = false;
  const joining = await storageScan(usageReq(), source(e, inst));
  equal(joining.nvme?.state?.status, ResponseStatus.CTL_SUCCESS, joining.nvme?.state?.error ?? "");
  equal(joining.nvme!.ctrlrs.length, 2);
  equal(joining.scm!.namespaces[1].mount?.rank, NilRank, "SCM usage only for ready ranks");

  // Started, no socket yet, ready during the wait: asked again.
  inst[1].socketKnown = false;
  inst[1].readyOnWait = true;
  const late = await storageScan(usageReq(), source(e, inst));
  equal(late.nvme!.ctrlrs.length, 2, late.nvme?.state?.error ?? "");

  // Started, never reachable within the wait.
  inst[1].ready = inst[1].socketKnown = inst[1].readyOnWait = false;
  const notReady = await storageScan(usageReq(), source(e, inst));
  equal(
    notReady.nvme?.state?.error,
    "instance 1: waiting for engine 1 to be ready to receive drpcs",
  );
  deepEqual(notReady.nvme!.ctrlrs.map((c) => c.pciAddr), ["/srv/bdev0"]);
});

Deno.test("storageScan: all engines stopped → Meta is an error, plain scan uses sysfs", async () => {
  const e = twoEngines();
  const inst = [new FakeEngine(0, 0, "/srv/bdev0", GIB), new FakeEngine(1, 1, "/srv/bdev1", GIB)];
  for (const i of inst) i.started = false;
  const usage = await storageScan(usageReq(), source(e, inst));
  equal(
    usage.nvme?.state?.error,
    "nvme scan failed: meta smd usage info unavailable as engines stopped",
  );
  const plain = await storageScan(create(StorageScanReqSchema, {}), source(e, inst));
  equal(plain.nvme?.state?.status, ResponseStatus.CTL_SUCCESS);
  deepEqual(plain.nvme?.ctrlrs, []);
  deepEqual(inst.flatMap((i) => i.calls), [], "no dRPC to stopped engines");
});

Deno.test("storageScan: disable_hugepages skips NVMe; a single failing engine fails the part", async () => {
  const e = twoEngines().slice(0, 1);
  const inst = [new FakeEngine(0, 0, "/srv/bdev0", GIB)];
  const skipped = await storageScan(usageReq(), { ...source(e, inst), disableHugepages: true });
  deepEqual([skipped.nvme?.state?.status, skipped.nvme?.ctrlrs], [ResponseStatus.CTL_SUCCESS, []]);
  inst[0].callMgmt = () => Promise.reject(new Error("dRPC down"));
  const failed = await storageScan(usageReq(), source(e, inst));
  equal(failed.nvme?.state?.error, "nvme scan failed: instance 0: dRPC down");
});

Deno.test("rdbBytes: DAOS_MD_CAP in MiB, default otherwise, bad value named", () => {
  const [e0, e1] = twoEngines();
  equal(rdbBytes(e0), DEFAULT_RDB_BYTES);
  equal(rdbBytes(e1), 256n * MIB);
  try {
    rdbBytes({ ...e1, envVars: ["DAOS_MD_CAP=1G"] });
    ok(false, "must throw");
  } catch (err) {
    ok(String(err).includes('invalid DAOS_MD_CAP "1G"'), String(err));
  }
});

Deno.test("adjustNvmeUsable: balanced clusters per target; non-data and bad devices offer nothing", () => {
  const dev = (rank: number, avail: bigint, tgts: number[], roleBits = 0) =>
    create(SmdDeviceSchema, { rank, availBytes: avail, tgtIds: tgts, clusterSize: MIB, roleBits });
  const ok1 = create(NvmeControllerSchema, {
    devState: NvmeDevState.NORMAL,
    smdDevices: [dev(0, 100n * MIB + 5n, [0, 1]), dev(0, 40n * MIB, [2]), dev(1, 10n * MIB, [0])],
  });
  const metaOnly = create(NvmeControllerSchema, {
    devState: NvmeDevState.NORMAL,
    smdDevices: [dev(0, 50n * MIB, [0], 2)],
  });
  const evicted = create(NvmeControllerSchema, {
    devState: NvmeDevState.EVICTED,
    smdDevices: [dev(0, 50n * MIB, [0])],
  });
  adjustNvmeUsable([ok1, metaOnly, evicted]);
  const [a, b, c] = ok1.smdDevices;
  equal(a.availBytes, 100n * MIB, "rounded down to whole clusters");
  // Rank 0: min(100/2, 40/1) = 40 clusters per target.
  deepEqual([a.usableBytes, b.usableBytes, c.usableBytes], [80n * MIB, 40n * MIB, 10n * MIB]);
  equal(metaOnly.smdDevices[0].usableBytes, 0n);
  deepEqual([evicted.smdDevices[0].availBytes, evicted.smdDevices[0].usableBytes], [0n, 0n]);
});
