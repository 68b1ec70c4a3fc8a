/**
 * `dmg system events` / `dmg system audit` against a MockInvoker (a streaming one for
 * `--follow`), table-driven: flags → request fields → scripted answer → text or JSON lines and
 * the exit status; and the follow loop's resume across replicas.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { followEvents } from "../../control/lib/control/events.ts";
import { MockInvoker, remote } from "../../control/lib/control/mock_invoker.ts";
import { NotLeaderError } from "../../control/lib/rpc/error_codec.ts";
import {
  type RASLogEntry,
  RASLogEntrySchema,
  type SystemFollowEventsReq,
} from "../../proto/gen/ts/mgmt/events_pb.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { runDmg, testConfig } from "../testing/dmg_harness.ts";
import { parseSince } from "./events.ts";

const H1 = "h1:10001";
const H2 = "h2:10001";
const GET = MgmtSvc.method.systemGetEvents;
const AUDIT = MgmtSvc.method.systemGetAudit;
const T = "2026-01-02T03:04:05.000Z";

/** A stored event: engine_died of rank `rank` (or an MS event without rank). */
function entry(seq: number, rank = 0): RASLogEntry {
  return create(RASLogEntrySchema, {
    seq: BigInt(seq),
    event: {
      id: rank < 0 ? 1001 : 2,
      msg: rank < 0 ? "MS leadership gained by replica h1:10001" : "engine 0 exited: signal 9",
      timestamp: T,
      type: rank < 0 ? 2 : 1,
      severity: rank < 0 ? 3 : 1,
      hostname: "h1",
      rank: rank < 0 ? 0xffffffff : rank,
      incarnation: rank < 0 ? 0n : 5n,
    },
  });
}

const LINE1 = `${T} 1 engine_died ERROR h1 rank 0 incarnation 5: engine 0 exited: signal 9`;
const LINE2 = `${T} 2 ms_leader_changed NOTICE h1: MS leadership gained by replica h1:10001`;
const JSON1 = {
  seq: 1,
  id: 2,
  name: "engine_died",
  type: "state_change",
  severity: "error",
  timestamp: T,
  hostname: "h1",
  rank: 0,
  incarnation: "5",
  msg: "engine 0 exited: signal 9",
};

const RECORD = {
  seq: 4n,
  time: T,
  who: "admin",
  component: "admin",
  peer: "10.0.0.9",
  method: "/mgmt.MgmtSvc/SystemStop",
  target: "ranks 1",
  outcome: "ok",
  server: H1,
};
const AUDIT_LINE = `${T} 4 /mgmt.MgmtSvc/SystemStop by admin (admin) from 10.0.0.9 on ranks 1 ` +
  `at ${H1}: ok`;

interface Case {
  name: string;
  args: string[];
  script: (m: MockInvoker) => void;
  code: number;
  out?: string;
  err?: RegExp;
  /** Fields of the first request of `method`. */
  sent?: [typeof GET | typeof AUDIT, Record<string, unknown>];
}

const CASES: Case[] = [
  {
    name: "events: one line each, the filter sent",
    args: ["system", "events", "-r", "0-1"],
    script: (m) => m.reply(GET, { events: [entry(1), entry(2, -1)], cursor: 2n }),
    code: 0,
    out: `${LINE1}\n${LINE2}\n`,
    sent: [GET, { sys: "daos_server", ranks: "0-1", since: "", after: 0n }],
  },
  {
    name: "events -j: one JSON object per line, no envelope",
    args: ["-j", "system", "events"],
    script: (m) => m.reply(GET, { events: [entry(1), entry(2, -1)], cursor: 2n }),
    code: 0,
    out: JSON.stringify(JSON1) + "\n" +
      JSON.stringify({
        seq: 2,
        id: 1001,
        name: "ms_leader_changed",
        type: "info",
        severity: "notice",
        timestamp: T,
        hostname: "h1",
        rank: null,
        incarnation: "0",
        msg: "MS leadership gained by replica h1:10001",
      }) + "\n",
  },
  {
    name: "events -j without events prints nothing",
    args: ["-j", "system", "events"],
    script: (m) => m.reply(GET, { events: [], cursor: 0n }),
    code: 0,
    out: "",
  },
  {
    name: "events --tail 1 --since: the newest only, the time sent",
    args: ["system", "events", "--tail", "1", "--since", "2026-01-02T00:00:00Z"],
    script: (m) => m.reply(GET, { events: [entry(1), entry(2, -1)], cursor: 2n }),
    code: 0,
    out: `${LINE2}\n`,
    sent: [GET, { since: "2026-01-02T00:00:00.000Z" }],
  },
  {
    name: "events: a bad --since is refused",
    args: ["system", "events", "--since", "yesterday"],
    script: () => {},
    code: 1,
    err: /invalid --since "yesterday": give an RFC 3339 time/,
  },
  {
    name: "events: --since with --follow is refused",
    args: ["system", "events", "--follow", "--since", "10m"],
    script: () => {},
    code: 1,
    err: /--since may not be mixed with --follow/,
  },
  {
    name: "events -j: an MS failure is the envelope",
    args: ["-j", "system", "events"],
    script: (m) => m.fail(GET, remote(new ConnectError("boom", Code.PermissionDenied))),
    code: 1,
    out: undefined,
    err: /system events failed: .*boom/,
  },
  {
    name: "audit: one line per record",
    args: ["system", "audit"],
    script: (m) => m.reply(AUDIT, { records: [RECORD], cursor: 4n }),
    code: 0,
    out: `${AUDIT_LINE}\n`,
    sent: [AUDIT, { sys: "daos_server", after: 0n }],
  },
  {
    name: "audit -j: one JSON object per line",
    args: ["-j", "system", "audit"],
    script: (m) => m.reply(AUDIT, { records: [RECORD], cursor: 4n }),
    code: 0,
    out: JSON.stringify({ ...RECORD, seq: 4 }) + "\n",
  },
];

for (const c of CASES) {
  Deno.test(`dmg ${c.name}`, async () => {
    const m = new MockInvoker();
    c.script(m);
    const r = await runDmg(c.args, m, testConfig([H1]));
    const where = `out=${JSON.stringify(r.out)} err=${JSON.stringify(r.err)}`;
    equal(r.code, c.code, where);
    if (c.out !== undefined) equal(r.out, c.out, where);
    if (c.err) match(r.err, c.err, where);
    if (c.sent) {
      const [method, fields] = c.sent;
      const req = m.calls.find((x) => x.method === method.name)?.request as Record<
        string,
        unknown
      >;
      deepEqual(Object.fromEntries(Object.keys(fields).map((k) => [k, req[k]])), fields);
    }
  });
}

Deno.test("dmg events -j: a failure before any line is the envelope (response null, the error)", async () => {
  const m = new MockInvoker().fail(GET, remote(new ConnectError("boom", Code.Internal)));
  const r = await runDmg(["-j", "system", "events"], m, testConfig([H1]));
  equal(r.code, 1);
  const doc = JSON.parse(r.out);
  equal(doc.response, null);
  match(doc.error, /boom/);
});

Deno.test("--since: RFC 3339 or a duration back from now", () => {
  const now = Date.parse(T);
  equal(parseSince("10m", now), "2026-01-02T02:54:05.000Z");
  equal(parseSince("2026-01-02T03:04:05+01:00", now), "2026-01-02T02:04:05.000Z");
  for (const bad of ["", "2026-13-45T00:00:00Z", "soon"]) {
    let msg = "";
    try {
      parseSince(bad, now);
    } catch (e) {
      msg = (e as Error).message;
    }
    match(msg, /invalid --since/, bad);
  }
});

/** A MockInvoker that also streams: per host, a script of streams (one per open). */
class StreamingMock extends MockInvoker {
  readonly opened: { addr: string; after: bigint; tail: number }[] = [];
  constructor(readonly streams: Map<string, (() => AsyncIterable<RASLogEntry>)[]>) {
    super();
  }
  followEvents(addr: string, req: SystemFollowEventsReq): AsyncIterable<RASLogEntry> {
    this.opened.push({ addr, after: req.after, tail: req.tail });
    const next = this.streams.get(addr)?.shift();
    if (!next) {
      return (async function* () {
        yield* [];
        throw remote(new ConnectError("no more streams", Code.PermissionDenied));
      })();
    }
    return next();
  }
}

function stream(entries: RASLogEntry[], end?: Error): () => AsyncIterable<RASLogEntry> {
  return async function* () {
    for (const e of entries) yield e;
    if (end) throw end;
  };
}

Deno.test("dmg events --follow: resumes on the next replica after its cursor, once each", async () => {
  const m = new StreamingMock(
    new Map([
      [H1, [stream([entry(1), entry(2, -1)], remote(new NotLeaderError("", [H2])))]],
      // The second replica resends event 2 (e.g. a tail): printed once all the same.
      [H2, [stream([entry(2, -1), entry(3)])]],
    ]),
  );
  const r = await runDmg(["system", "events", "--follow", "--tail", "5"], m, testConfig([H1, H2]));
  // The script ends with a refusal (no more streams): the command fails with it.
  equal(r.code, 1, r.err);
  match(r.err, /system events failed: .*no more streams/);
  deepEqual(r.out.split("\n").filter((l) => l !== "").map((l) => l.split(" ")[1]), [
    "1",
    "2",
    "3",
  ]);
  deepEqual(m.opened, [
    { addr: H1, after: 0n, tail: 5 },
    { addr: H2, after: 2n, tail: 0 },
    { addr: H1, after: 3n, tail: 0 },
  ]);
});

Deno.test("followEvents: stops when aborted, gives up when no replica answers", async () => {
  const ac = new AbortController();
  const got: bigint[] = [];
  await followEvents(
    {
      followEvents: async function* (_addr, req) {
        yield entry(Number(req.after) + 1);
        ac.abort();
      },
    },
    { sys: "s" },
    { hosts: [H1], signal: ac.signal, giveUpMs: 1000, onEvent: (e) => got.push(e.seq) },
  );
  deepEqual(got, [1n]);
  const t0 = Date.now();
  let err = "";
  await followEvents(
    {
      followEvents: () => {
        throw new ConnectError("connect ECONNREFUSED h1:10001", Code.Unavailable);
      },
    },
    { sys: "s" },
    {
      hosts: [H1, H2],
      signal: new AbortController().signal,
      giveUpMs: 200,
      retryDelayMs: 20,
      onEvent: () => {},
    },
  ).catch((e) => err = String(e));
  match(err, /ECONNREFUSED/);
  const took = Date.now() - t0;
  equal(took >= 200 && took < 2000, true, `${took} ms`);
});
