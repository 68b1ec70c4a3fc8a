/**
 * The light unary transport (light_transport.ts) against connect-node's own Connect
 * transport, call by call on the same server: answers, server errors with details and
 * metadata, deadlines, cancellation, refused connections, a response over the read limit, an
 * interceptor's headers and its view of the outcome, and a streaming call (handed to
 * connect-node) must come out the same.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "../../../proto/gen/ts/google/rpc/error_details_pb.ts";
import { MgmtSvc } from "../../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { LeaderQueryRespSchema } from "../../../proto/gen/ts/mgmt/svc_pb.ts";
import { SystemMemberSchema, SystemQueryRespSchema } from "../../../proto/gen/ts/mgmt/system_pb.ts";
import { RASLogEntrySchema } from "../../../proto/gen/ts/mgmt/events_pb.ts";
import { createLightTransport } from "./light_transport.ts";
import { listenControl } from "./transport.ts";

const READ_MAX = 64 * 1024;

/** What a call ended with, comparable across transports. */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await p };
  } catch (e) {
    ok(e instanceof ConnectError, `not a ConnectError: ${e}`);
    const info = e.findDetails(ErrorInfoSchema).map((d) => ({ ...d, $typeName: d.$typeName }));
    return { code: e.code, message: e.rawMessage, info, meta: e.metadata.get("x-test") };
  }
}

Deno.test("light transport: every outcome of a unary call is connect-node's", async () => {
  const seen: string[] = [];
  const listener = await listenControl({
    host: "127.0.0.1",
    port: 0,
    security: { allowInsecure: true },
    routes: (r) =>
      r.service(MgmtSvc, {
        leaderQuery: async (req, ctx) => {
          seen.push(ctx.requestHeader.get("x-daos-test") ?? "");
          switch (req.sys) {
            case "fail": {
              const info = create(ErrorInfoSchema, {
                reason: "r",
                domain: "d",
                metadata: { a: "1" },
              });
              ctx.responseHeader.set("x-test", "kept");
              throw new ConnectError("refused on purpose", Code.FailedPrecondition, undefined, [
                { desc: ErrorInfoSchema, value: info },
              ]);
            }
            case "slow":
              await new Promise((r) => setTimeout(r, 300));
              break;
          }
          return create(LeaderQueryRespSchema, { currentLeader: `leader of ${req.sys}` });
        },
        systemQuery: (req) =>
          create(SystemQueryRespSchema, {
            members: Array.from(
              { length: req.hosts === "big" ? 2000 : 3 },
              (_, i) =>
                create(SystemMemberSchema, { rank: i, addr: "127.0.0.1:10001", state: "Joined" }),
            ),
          }),
        systemFollowEvents: async function* () {
          yield create(RASLogEntrySchema, { seq: 1n });
          yield create(RASLogEntrySchema, { seq: 2n });
        },
      }),
  });
  const intercepted: string[] = [];
  const header: Interceptor = (next) => async (req) => {
    req.header.set("x-daos-test", "set");
    try {
      return await next(req);
    } catch (e) {
      intercepted.push(`${ConnectError.from(e).code}`);
      throw e;
    }
  };
  const make = (addr: string): { connect: Transport; light: Transport; close: () => void } => {
    const baseUrl = `http://${addr}`;
    const s1 = new Http2SessionManager(baseUrl);
    const s2 = new Http2SessionManager(baseUrl);
    const opts = { baseUrl, readMaxBytes: READ_MAX, writeMaxBytes: READ_MAX };
    const connect = createConnectTransport({
      ...opts,
      httpVersion: "2",
      useBinaryFormat: true,
      interceptors: [header],
      sessionManager: s1,
    });
    const streaming = createConnectTransport({
      ...opts,
      httpVersion: "2",
      useBinaryFormat: true,
      interceptors: [header],
      sessionManager: s2,
    });
    const light = createLightTransport({
      ...opts,
      interceptors: [header],
      sessionManager: s2,
      streaming,
    });
    return { connect, light, close: () => (s1.abort(), s2.abort()) };
  };
  const t = make(listener.address);
  const refused = make("127.0.0.1:1");
  try {
    const calls: [string, (x: Transport) => Promise<unknown>][] = [
      ["answer", (x) => createClient(MgmtSvc, x).leaderQuery({ sys: "a" })],
      ["server error", (x) => createClient(MgmtSvc, x).leaderQuery({ sys: "fail" })],
      ["deadline", (x) => createClient(MgmtSvc, x).leaderQuery({ sys: "slow" }, { timeoutMs: 50 })],
      ["cancelled", (x) => {
        const ac = new AbortController();
        setTimeout(() => ac.abort(), 50);
        return createClient(MgmtSvc, x).leaderQuery({ sys: "slow" }, { signal: ac.signal });
      }],
      ["cancelled before", (x) => {
        const ac = new AbortController();
        ac.abort(new Error("gone"));
        return createClient(MgmtSvc, x).leaderQuery({ sys: "a" }, { signal: ac.signal });
      }],
      ["small answer", (x) => createClient(MgmtSvc, x).systemQuery({ hosts: "" })],
      ["over the read limit", (x) => createClient(MgmtSvc, x).systemQuery({ hosts: "big" })],
    ];
    for (const [name, call] of calls) {
      intercepted.length = 0;
      const want = await outcome(call(t.connect));
      const wantSeen = [...intercepted];
      intercepted.length = 0;
      const got = await outcome(call(t.light));
      deepEqual(got, want, name);
      deepEqual(intercepted, wantSeen, `${name}: what the interceptor saw`);
    }
    // The answers above did arrive (not all failures): the comparison had something to compare.
    deepEqual(await outcome(calls[0][1](t.light)), {
      ok: create(LeaderQueryRespSchema, { currentLeader: "leader of a" }),
    });
    ok(seen.length > 0 && seen.every((h) => h === "set"), `headers seen: ${seen}`);

    const want = await outcome(createClient(MgmtSvc, refused.connect).leaderQuery({ sys: "a" }));
    const got = await outcome(createClient(MgmtSvc, refused.light).leaderQuery({ sys: "a" }));
    deepEqual(got, want, "connection refused");
    equal((got as { code: Code }).code, Code.Unavailable);

    const events: bigint[] = [];
    for await (const e of createClient(MgmtSvc, t.light).systemFollowEvents({})) {
      events.push(e.seq);
    }
    deepEqual(events, [1n, 2n]);
  } finally {
    t.close();
    refused.close();
    await listener.close();
  }
});
