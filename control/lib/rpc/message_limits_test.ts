/**
 * Message size limits (message_limits.ts): the largest legitimate messages at 10k ranks fit
 * with headroom; an oversized request from a peer without limits is refused with
 * RESOURCE_EXHAUSTED naming the limit, and the server keeps answering normal calls; our own
 * clients refuse to send oversized requests and to read oversized responses.
 */
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { MgmtSvc } from "../../../proto/gen/ts/mgmt/mgmt_pb.ts";
import {
  GroupUpdateReq_EngineSchema,
  GroupUpdateReqSchema,
} from "../../../proto/gen/ts/mgmt/srv_pb.ts";
import { JoinRespSchema } from "../../../proto/gen/ts/mgmt/svc_pb.ts";
import {
  SystemMemberSchema,
  SystemQueryRespSchema,
  SystemStopRespSchema,
} from "../../../proto/gen/ts/mgmt/system_pb.ts";
import { RankResultSchema } from "../../../proto/gen/ts/shared/ranks_pb.ts";
import { MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES } from "./message_limits.ts";
import { listenControl, TransportPool } from "./transport.ts";

const RANKS = 10_000;

/** Members with every field at a realistic maximum; `info` characters of reason each. */
function members(info: number) {
  return Array.from({ length: RANKS }, (_, i) =>
    create(SystemMemberSchema, {
      addr: "255.255.255.255:10001",
      uuid: crypto.randomUUID(),
      rank: i,
      incarnation: 2n ** 63n,
      state: "AdminExcluded",
      fabricUri: "ofi+tcp;ofi_rxm://255.255.255.255:31416",
      fabricContexts: 65535,
      info: "x".repeat(info),
      faultDomain: "/rack-0001/node-00001",
      lastUpdate: new Date().toISOString(),
      secondaryFabricUris: ["ofi+tcp;ofi_rxm://255.255.255.255:31417"],
    }));
}

Deno.test("message limits: the largest messages at 10k ranks fit with headroom", () => {
  const ms = members(256);
  const groupUpdate = toBinary(
    GroupUpdateReqSchema,
    create(GroupUpdateReqSchema, {
      mapVersion: 4_000_000_000,
      engines: ms.map((m) =>
        create(GroupUpdateReq_EngineSchema, {
          rank: m.rank,
          uri: m.fabricUri,
          incarnation: m.incarnation,
        })
      ),
    }),
  ).length;
  const query = toBinary(
    SystemQueryRespSchema,
    create(SystemQueryRespSchema, { members: ms, dataVersion: 2n ** 63n, providers: ["ofi+tcp"] }),
  ).length;
  const stop = toBinary(
    SystemStopRespSchema,
    create(SystemStopRespSchema, {
      results: ms.map((m) =>
        create(RankResultSchema, {
          rank: m.rank,
          action: "prep shutdown",
          errored: true,
          msg: m.info,
          state: "errored",
          addr: m.addr,
          incarnation: m.incarnation,
        })
      ),
    }),
  ).length;
  // Headroom: requests 4x, responses 3x (so growth of a field or two still fits).
  assert(groupUpdate * 4 <= MAX_REQUEST_BYTES, `GroupUpdateReq at 10k: ${groupUpdate} bytes`);
  assert(query * 3 <= MAX_RESPONSE_BYTES, `SystemQueryResp at 10k: ${query} bytes`);
  assert(stop * 3 <= MAX_RESPONSE_BYTES, `SystemStopResp at 10k: ${stop} bytes`);
});

/** A control listener with Join (echoes the uri length) and SystemQuery (`queryMembers`). */
async function server(queryMembers = 0) {
  let joins = 0;
  const l = await listenControl({
    host: "127.0.0.1",
    port: 0,
    security: { allowInsecure: true },
    routes: (r) =>
      r.service(MgmtSvc, {
        join: (req) => {
          joins++;
          return create(JoinRespSchema, { rank: req.uri.length });
        },
        systemQuery: () =>
          create(SystemQueryRespSchema, {
            members: Array.from(
              { length: queryMembers },
              (_, i) => create(SystemMemberSchema, { rank: i, info: "y".repeat(1024) }),
            ),
          }),
      }),
  });
  return { l, joins: () => joins };
}

async function codeOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("call succeeded, expected a failure");
}

/** Raw transports of a hostile or careless peer: no size limits of their own. */
function rawTransports(addr: string): { name: string; t: Transport; close: () => void }[] {
  const url = `http://${addr}`;
  const a = new Http2SessionManager(url);
  const b = new Http2SessionManager(url);
  return [
    {
      name: "connect",
      t: createConnectTransport({ httpVersion: "2", baseUrl: url, sessionManager: a }),
      close: () => a.abort(),
    },
    {
      name: "grpc",
      t: createGrpcTransport({ baseUrl: url, sessionManager: b }),
      close: () => b.abort(),
    },
  ];
}

Deno.test("message limits: a 32 MiB request gets RESOURCE_EXHAUSTED, the server stays responsive", async () => {
  const { l, joins } = await server();
  const peers = rawTransports(l.address);
  try {
    for (const p of peers) {
      const client = createClient(MgmtSvc, p.t);
      const err = await codeOf(client.join({ uri: "z".repeat(32 * 1024 * 1024) }));
      assertEquals({ peer: p.name, code: Code[err.code] }, {
        peer: p.name,
        code: Code[Code.ResourceExhausted],
      });
      assert(err.rawMessage.includes(String(MAX_REQUEST_BYTES)), err.rawMessage);
      // The same peer, and the same session, get normal service at once.
      const ok = await client.join({ uri: "normal" }, { timeoutMs: 5_000 });
      assertEquals(ok.rank, "normal".length);
    }
    assertEquals(joins(), peers.length); // the oversized ones never reached the handler
  } finally {
    for (const p of peers) p.close();
    await l.close();
  }
});

Deno.test("message limits: our client refuses to send an oversized request", async () => {
  const { l, joins } = await server();
  const pool = new TransportPool({ security: { allowInsecure: true } });
  try {
    const client = createClient(MgmtSvc, pool.get(l.address));
    const err = await codeOf(client.join({ uri: "z".repeat(MAX_REQUEST_BYTES) }));
    assertEquals(Code[err.code], Code[Code.ResourceExhausted]);
    assert(err.rawMessage.includes(`limit of 4 MiB (${MAX_REQUEST_BYTES} bytes)`), err.rawMessage);
    assert(err.rawMessage.startsWith(`the Join request to ${l.address} of `), err.rawMessage);
    assertEquals(joins(), 0);
  } finally {
    pool.close();
    await l.close();
  }
});

Deno.test("message limits: an oversized response is refused on both sides", async () => {
  // ~1 KiB per member: 20k members is past MAX_RESPONSE_BYTES.
  const { l } = await server(Math.ceil(MAX_RESPONSE_BYTES / 1000));
  const pool = new TransportPool({ security: { allowInsecure: true } });
  try {
    const err = await codeOf(createClient(MgmtSvc, pool.get(l.address)).systemQuery({}));
    assertEquals(Code[err.code], Code[Code.ResourceExhausted]);
    assert(
      /^the SystemQuery response from \S+ of \d+ bytes is larger than the control-plane message limit of 16 MiB \(16777216 bytes\)$/
        .test(err.rawMessage),
      err.rawMessage,
    );
  } finally {
    pool.close();
    await l.close();
  }
});
