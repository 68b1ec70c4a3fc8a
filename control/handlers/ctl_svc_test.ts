/**
 * The CtlSvc of one server context over an in-memory Connect router (no listener): scans from
 * fake sources, StorageFormat through the context's format lock, rank calls before the engine
 * plane exists, and SystemErasePeer on a server that is no replica.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { ResponseStatus } from "../../proto/gen/ts/ctl/common_pb.ts";
import { StorageFormatReqSchema } from "../../proto/gen/ts/ctl/storage_pb.ts";
import { SystemEraseReqSchema } from "../../proto/gen/ts/mgmt/system_pb.ts";
import { checkRequestSystem } from "../lib/system_name.ts";
import { ctlServerHandlers } from "./ctl_server.ts";
import {
  engineYaml,
  LOCAL_SERVER_HEAD,
  parseConfig,
  ramTierYaml,
} from "../../tests/util/config_fixtures.ts";
import { idleHarness } from "../harness/testing/fixture.ts";
import { Fault, hasFaultCode } from "../lib/fault.ts";
import { NotReplicaError } from "../lib/rpc/error_codec.ts";
import { remoteErr } from "./testing.ts";
import { ctlService } from "./ctl_svc.ts";
import { ctlStorageHandlers } from "./ctl_storage.ts";
import {
  createServerContext,
  type ServerContext,
  type ServerContextInit,
} from "./server_context.ts";
import type { StorageScanSource } from "../ctl/storage_scan.ts";
import { fakeStorageSource } from "../ctl/testing.ts";
import type { NetworkScanSource } from "../ctl/network_scan.ts";

/** One dcpm engine: this host has no PMem, so format fails per mount without mounting. */
const DCPM = parseConfig(`provider: ofi+tcp
mgmt_svc_replicas: [h1:10001]
engines:
${
  engineYaml(`      - class: dcpm
        scm_list: [/dev/pmem0]
        scm_mount: /mnt/daos-test-never-mounted
`)
}`);

const network: NetworkScanSource = {
  configuredProvider: "ofi+tcp",
  interfaces: () =>
    Promise.resolve([
      { name: "eth0", addresses: ["10.0.0.1"], numaNode: 1, netDevClass: 1, rdma: false },
    ]),
  topology: () => Promise.resolve({ numaCount: 2, coresPerNuma: 8 }),
};

/** A ram tier on /mnt/d0, nothing mounted. */
function storage(): StorageScanSource {
  return fakeStorageSource(
    parseConfig(LOCAL_SERVER_HEAD + engineYaml(ramTierYaml("/mnt/d0"))).engines,
  );
}

function ctlClient(init: ServerContextInit) {
  const ctx = createServerContext(init);
  return createClient(
    CtlSvc,
    createRouterTransport(({ service }) => service(CtlSvc, ctlService(ctx))),
  );
}

Deno.test("CtlSvc: NetworkScan and StorageScan answer from the context's sources", async () => {
  const c = ctlClient({ config: DCPM, scan: { network, storage: storage() } });
  const net = await c.networkScan({});
  deepEqual(net.interfaces.map((i) => [i.device, i.provider, i.numanode]), [
    ["eth0", "ofi+tcp", 1],
  ]);
  deepEqual([net.numacount, net.corespernuma], [2, 8]);
  const st = await c.storageScan({ nvme: { Basic: true } });
  equal(st.scm?.namespaces[0].blockdev, "ramdisk");
  equal(st.memInfo?.hugepagesTotal, 4n);
});

Deno.test("CtlSvc: StorageFormat on dcpm: per-mount CTL_ERR_SCM with the no-PMem fault, nothing mounted", async () => {
  // Without an engine plane (every engine stopped) and with an idle harness (no instances).
  const harness = idleHarness();
  for (const init of [{ config: DCPM }, { config: DCPM, harness: () => harness }]) {
    const resp = await ctlClient(init).storageFormat({});
    equal(resp.mrets.length, 1);
    equal(resp.mrets[0].mntpoint, "/mnt/daos-test-never-mounted");
    equal(resp.mrets[0].state?.status, ResponseStatus.CTL_ERR_SCM);
    match(resp.mrets[0].state?.error ?? "", /No PMem modules exist on storage server/);
  }
  equal(await Deno.stat("/mnt/daos-test-never-mounted").then(() => 1, () => 0), 0);
});

Deno.test("CtlSvc: rank calls before the engine plane exists are fault 610", async () => {
  const c = ctlClient({ config: DCPM });
  const calls = [
    () => c.pingRanks({ ranks: "" }),
    () => c.stopRanks({ ranks: "0" }),
    () =>
      c.groupUpdate({
        sys: "daos_server",
        mapVersion: 1,
        engines: [{ rank: 0, uri: "ofi+tcp://1.2.3.4:5" }],
      }),
  ];
  for (const call of calls) {
    const e = await remoteErr(call());
    ok(hasFaultCode(e, 610), String(e));
  }
});

Deno.test("CtlSvc: SystemErasePeer on a server that is no MS replica: 603 for another system, else not-replica", async () => {
  const c = ctlClient({ config: DCPM });
  const wrong = await remoteErr(c.systemErasePeer({ sys: "other" }));
  ok(wrong instanceof Fault && wrong.code === 603, String(wrong));
  const e = await remoteErr(c.systemErasePeer({ sys: "daos_server" }));
  ok(e instanceof NotReplicaError, String(e));
  deepEqual(e.replicas, ["h1:10001"]);
});

Deno.test("SystemErasePeer on a replica: the system check, then the MS drops its local database", async () => {
  const calls: string[] = [];
  const ms = {
    checkSystem: (sys: string) => checkRequestSystem(sys, "daos_server"),
    eraseAsPeer: () => Promise.resolve(void calls.push("eraseAsPeer")),
  };
  const h = ctlServerHandlers({ ms, config: DCPM });
  await rejects(
    h.systemErasePeer(create(SystemEraseReqSchema, { sys: "other" })),
    (e) => hasFaultCode(e, 603),
  );
  deepEqual(calls, []);
  await h.systemErasePeer(create(SystemEraseReqSchema, { sys: "daos_server" }));
  deepEqual(calls, ["eraseAsPeer"]);
});

Deno.test("format lock: per server context: formats of one server queue, another server's do not wait", async () => {
  const a: ServerContext = createServerContext({ config: DCPM });
  const b: ServerContext = createServerContext({ config: DCPM });
  ok(a.formatLock !== b.formatLock && a.formatGate !== b.formatGate);
  // Server A is busy formatting until `held` is released.
  const held = Promise.withResolvers<void>();
  const first = a.formatLock.run(() => held.promise);
  const order: string[] = [];
  const req = create(StorageFormatReqSchema, {});
  const secondA = ctlStorageHandlers(a).storageFormat(req).then(() => order.push("a"));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // Bounded: a lock shared between the servers would make B wait for A's `held` forever.
    const onB = await Promise.race([
      ctlStorageHandlers(b).storageFormat(req),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("server B's format waited for A's")), 10_000);
      }),
    ]);
    order.push("b");
    equal(onB.mrets[0].state?.status, ResponseStatus.CTL_ERR_SCM);
    // B finished while A's second format still waits for A's first.
    await new Promise((r) => setTimeout(r, 20));
    deepEqual(order, ["b"]);
  } finally {
    clearTimeout(timer);
    held.resolve();
  }
  await first;
  await secondA;
  deepEqual(order, ["b", "a"]);
  // A failed run does not block the queue.
  await a.formatLock.run(() => Promise.reject(new Error("boom"))).catch(() => {});
  equal(await a.formatLock.run(() => Promise.resolve(7)), 7);
});
