import { deepEqual, equal, rejects } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { createHandlerContext } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { RanksReqSchema } from "../../proto/gen/ts/ctl/ranks_pb.ts";
import {
  GroupUpdateReq_EngineSchema,
  GroupUpdateReqSchema,
} from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { hasFaultCode } from "../lib/fault.ts";
import { ctlRanksHandlers } from "./ctl_ranks.ts";
import { idleHarness } from "../harness/testing/fixture.ts";

/** The rank handlers over an idle harness of this host (started by the test). */
function idle() {
  const h = idleHarness("127.0.0.1:10001");
  return { h, handlers: ctlRanksHandlers({ harness: () => h, config: { name: "daos_server" } }) };
}

const ctx = () =>
  createHandlerContext({
    service: CtlSvc,
    method: CtlSvc.method.startRanks,
    protocolName: "connect",
    requestMethod: "POST",
    url: "http://127.0.0.1/ctl.CtlSvc/StartRanks",
  });

Deno.test("rank calls (PingRanks included) before the harness started are fault 610", async () => {
  const { h, handlers } = idle();
  for (const call of [handlers.startRanks, handlers.pingRanks]) {
    await rejects(
      () => call(create(RanksReqSchema, { ranks: "0" }), ctx()),
      (e) => hasFaultCode(e, 610),
    );
  }
  await h.start();
  await rejects(
    () => handlers.startRanks(create(RanksReqSchema, { ranks: "" }), ctx()),
    /no ranks specified in request/,
  );
  await h.shutdown();
});

Deno.test("PingRanks: this host's ranks (none here); bad rank text refused", async () => {
  const { h, handlers } = idle();
  await h.start();
  try {
    const all = await handlers.pingRanks(create(RanksReqSchema, { ranks: "" }), ctx());
    deepEqual(all.results, []);
    await rejects(
      () => handlers.pingRanks(create(RanksReqSchema, { ranks: "x" }), ctx()),
      /unexpected alphabetic/,
    );
  } finally {
    await h.shutdown();
  }
});

Deno.test("GroupUpdate: a map of another system (or none named) is refused, this system's delivered", async () => {
  const { h, handlers } = idle();
  await h.start();
  try {
    const map = (sys: string) =>
      create(GroupUpdateReqSchema, {
        sys,
        mapVersion: 3,
        engines: [create(GroupUpdateReq_EngineSchema, { rank: 0, uri: "ofi+tcp://1.2.3.4:5" })],
      });
    for (const sys of ["other", ""]) {
      await rejects(() => handlers.groupUpdate(map(sys), ctx()), (e) => hasFaultCode(e, 603));
    }
    equal(h.groupMap.latestVersion(), 0);
    const ok = await handlers.groupUpdate(map("daos_server"), ctx());
    deepEqual(ok.results, []); // no ready engine here; the map is held for them
    equal(h.groupMap.latestVersion(), 3);
  } finally {
    await h.shutdown();
  }
});
