import { deepEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { JoinReqSchema, JoinRespSchema } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import { ClusterEventRespSchema, RASEventSchema } from "../../proto/gen/ts/shared/event_pb.ts";
import { faults } from "../lib/fault.ts";
import { msDbUnavailable } from "../mgmt/management_service.ts";
import { MsUnavailableError, toWireError } from "../lib/rpc/error_codec.ts";
import { type ControlListener, listenControl } from "../lib/rpc/transport.ts";
import { serverTransportPool } from "./ctl_fanout.ts";
import { MAX_QUEUED_EVENTS, MsClient } from "./ms_client.ts";

const quiet = { debug: () => {}, info: () => {}, error: () => {} };

async function serve(
  impl: Parameters<typeof listenControl>[0]["routes"],
): Promise<ControlListener> {
  return await listenControl({
    host: "127.0.0.1",
    port: 0,
    security: { allowInsecure: true },
    routes: impl,
  });
}

Deno.test("MsClient.join retries 'not ready' answers until the MS assigns a rank", async () => {
  let calls = 0;
  const l = await serve((r) =>
    r.service(MgmtSvc, {
      join: () => {
        calls++;
        if (calls <= 2) {
          throw toWireError(new MsUnavailableError("uninitialized"));
        }
        return create(JoinRespSchema, { rank: 7, mapVersion: 3 });
      },
    })
  );
  const pool = serverTransportPool({ allowInsecure: true });
  const c = new MsClient({ pool, replicas: [l.address], system: "daos_server", log: quiet });
  try {
    const resp = await c.join(create(JoinReqSchema, { sys: "daos_server", uuid: "u", idx: 1 }));
    assertEquals([resp.rank, resp.mapVersion, calls], [7, 3, 3]);
  } finally {
    c.close();
    pool.close();
    await l.close();
  }
});

Deno.test("MsClient.join retries the MS's transient etcd errors (breaker open, deadline)", async () => {
  // The MS answers its etcd's transient failures typed (msDbUnavailable: the fault's reason),
  // and a leader still taking over as MsUnavailableError("step-up"); the client goes by type.
  const etcd = ["127.0.0.1:2379"];
  const transient = [
    msDbUnavailable(
      new Error("Execution prevented because the circuit breaker is open"),
      etcd,
      "a",
    ),
    msDbUnavailable(new Error("4 DEADLINE_EXCEEDED: Deadline exceeded after 0.536s"), etcd, "a"),
    // etcd down (e.g. its filesystem full)
    msDbUnavailable(new Error("14 UNAVAILABLE: No connection established"), etcd, "a"),
    new MsUnavailableError("step-up"),
  ];
  let calls = 0;
  const l = await serve((r) =>
    r.service(MgmtSvc, {
      join: () => {
        const err = transient[calls++];
        if (err !== undefined) throw toWireError(err);
        return create(JoinRespSchema, { rank: 5, mapVersion: 2 });
      },
    })
  );
  const pool = serverTransportPool({ allowInsecure: true });
  const c = new MsClient({ pool, replicas: [l.address], system: "daos_server", log: quiet });
  try {
    const resp = await c.join(create(JoinReqSchema, { sys: "daos_server", uuid: "u", idx: 0 }));
    assertEquals([resp.rank, calls], [5, 5]);
  } finally {
    c.close();
    pool.close();
    await l.close();
  }
});

Deno.test("MsClient.join: a refusal is returned at once; close() ends a join that cannot finish", async () => {
  let mode: "refuse" | "unready" = "refuse";
  let calls = 0;
  const l = await serve((r) =>
    r.service(MgmtSvc, {
      join: () => {
        calls++;
        if (mode === "refuse") throw toWireError(faults.ServerWrongSystem("x", "daos_server"));
        throw toWireError(new MsUnavailableError("uninitialized"));
      },
    })
  );
  const pool = serverTransportPool({ allowInsecure: true });
  const c = new MsClient({ pool, replicas: [l.address], system: "daos_server", log: quiet });
  try {
    await rejects(() => c.join(create(JoinReqSchema, { sys: "x" })), /does not match/);
    assertEquals(calls, 1);
    mode = "unready";
    const pending = c.join(create(JoinReqSchema, { sys: "daos_server", idx: 0 }));
    for (let i = 0; i < 100 && calls < 2; i++) await new Promise((r) => setTimeout(r, 20));
    ok(calls >= 2, "the second join reached the MS (and is retrying) before close()");
    c.close();
    await rejects(() => pending, /join of instance 0 abandoned \(server stopping\)/);
  } finally {
    c.close();
    pool.close();
    await l.close();
  }
});

Deno.test("MsClient.forwardEvent delivers events in order as ClusterEvent", async () => {
  const got: { seq: bigint; id: number; rank: number }[] = [];
  const l = await serve((r) =>
    r.service(MgmtSvc, {
      clusterEvent: (req) => {
        got.push({ seq: req.sequence, id: req.event!.id, rank: req.event!.rank });
        return create(ClusterEventRespSchema, { sequence: req.sequence });
      },
    })
  );
  const pool = serverTransportPool({ allowInsecure: true });
  const c = new MsClient({ pool, replicas: [l.address], system: "daos_server", log: quiet });
  try {
    c.forwardEvent(create(RASEventSchema, { id: 2, rank: 4, msg: "died" }));
    c.forwardEvent(create(RASEventSchema, { id: 2, rank: 5, msg: "died" }));
    for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assertEquals(got, [{ seq: 1n, id: 2, rank: 4 }, { seq: 2n, id: 2, rank: 5 }]);
  } finally {
    c.close();
    pool.close();
    await l.close();
  }
});

Deno.test("MsClient.forwardEvent keeps at most MAX_QUEUED_EVENTS waiting and says which it dropped", async () => {
  const got: number[] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  const l = await serve((r) =>
    r.service(MgmtSvc, {
      clusterEvent: async (req) => {
        await held; // an MS that is slow to take events
        got.push(req.event!.rank);
        return create(ClusterEventRespSchema, { sequence: req.sequence });
      },
    })
  );
  const errors: string[] = [];
  const pool = serverTransportPool({ allowInsecure: true });
  const c = new MsClient({
    pool,
    replicas: [l.address],
    system: "daos_server",
    log: { ...quiet, error: (m) => errors.push(m) },
  });
  try {
    // A local process floods daos_server.sock with events while the MS is slow.
    for (let i = 0; i < MAX_QUEUED_EVENTS + 44; i++) {
      c.forwardEvent(create(RASEventSchema, { id: 5, rank: i, msg: "x".repeat(1000) }));
    }
    assertEquals(errors.length, 44);
    assertEquals(
      errors[0],
      `event 5 (rank ${MAX_QUEUED_EVENTS}) dropped: ${MAX_QUEUED_EVENTS} events already ` +
        "waiting for the MS",
    );
    release();
    for (let i = 0; i < 1000 && got.length < MAX_QUEUED_EVENTS; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assertEquals(got, Array.from({ length: MAX_QUEUED_EVENTS }, (_, i) => i));
    // Drained: events are taken again.
    c.forwardEvent(create(RASEventSchema, { id: 2, rank: 9999, msg: "died" }));
    for (let i = 0; i < 500 && got.length <= MAX_QUEUED_EVENTS; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assertEquals(got.at(-1), 9999);
  } finally {
    c.close();
    pool.close();
    await l.close();
  }
});
