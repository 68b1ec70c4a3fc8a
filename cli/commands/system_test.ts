import {
  deepEqual as assertEquals,
  ok as assert,
  rejects,
  throws as assertThrows,
} from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { listenControl } from "../../control/lib/rpc/transport.ts";
import { MsUnavailableError, toWireError } from "../../control/lib/rpc/error_codec.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { LeaderQueryRespSchema } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import {
  SystemEraseRespSchema,
  SystemExcludeRespSchema,
  SystemMemberSchema,
  type SystemQueryReq,
  SystemQueryRespSchema,
  type SystemStopReq,
  SystemStopRespSchema,
} from "../../proto/gen/ts/mgmt/system_pb.ts";
import { RankResultSchema } from "../../proto/gen/ts/shared/ranks_pb.ts";
import { EnvelopeWriter } from "../output/envelope.ts";
import { Logger, MemorySink } from "../output/logger.ts";
import { CommandContext } from "./context.ts";
import {
  checkStopFlags,
  excludeSelection,
  queryStateMask,
  rankHostSelection,
  systemErase,
  systemExclude,
  systemLeaderQuery,
  systemQuery,
  systemStop,
} from "./system.ts";

Deno.test("flag checks and request normalisation", () => {
  assertEquals(rankHostSelection({ ranks: "[0-3,5]" }), { ranks: "0-3,5", hosts: "" });
  assertEquals(rankHostSelection({ rankHosts: "foo-[1-3]" }), { ranks: "", hosts: "foo-[1-3]" });
  // `-r '[0-5'` was read as 0-5: a lost bracket is refused, naming the input (issue 15).
  assertThrows(() => rankHostSelection({ ranks: "[0-5" }), {
    message: 'creating numeric set from "[0-5": unbalanced brackets (no closing "]"; ' +
      'write "0-5" or "[0-5]")',
  });
  assertThrows(() => rankHostSelection({ rankHosts: "foo-[1-3" }), {
    message: 'invalid range "foo-[1-3"',
  });
  // A few KiB naming millions of hosts is refused here, before the MS is asked.
  const huge = `n[${Array.from({ length: 300 }, (_, i) => `${i * 16385}-${i * 16385 + 16384}`)}]`;
  assertThrows(() => rankHostSelection({ rankHosts: huge }), {
    message: 'host list "n[0-4915499]" names 4915500 hosts, more than the 65536 accepted; ' +
      "name fewer hosts",
  });
  assertThrows(() => rankHostSelection({ ranks: "1", rankHosts: "a" }), {
    message: "--ranks and --rank-hosts options cannot be set together",
  });
  assertEquals(queryStateMask({}), 0xffff);
  assertEquals(queryStateMask({ notOk: true }), 0xfff7);
  assertEquals(queryStateMask({ withStates: "joined,Excluded" }), 0x48);
  assertThrows(() => queryStateMask({ notOk: true, withStates: "Joined" }), {
    message: "--not-ok and --with-states options cannot be set together",
  });
  assertThrows(() => checkStopFlags({ full: true, force: true }), {
    message: "--force may not be mixed with --full",
  });
  assertThrows(() => checkStopFlags({ full: true, ranks: "1" }), {
    message: "--full may not be mixed with --ranks",
  });
  assertThrows(() => checkStopFlags({ full: true, rankHosts: "a" }), {
    message: "--full may not be mixed with --rank-hosts",
  });
  assertThrows(() => excludeSelection({}), { message: "no ranks or hosts specified" });
});

/** A fake MS on 127.0.0.1 and a CommandContext pointing at it. */
async function withFakeMs(
  routes: (router: ConnectRouter) => void,
  body: (mk: (json?: boolean) => Harness) => Promise<void>,
): Promise<void> {
  const listener = await listenControl({
    host: "127.0.0.1",
    port: 0,
    security: { allowInsecure: true },
    routes,
  });
  const dir = Deno.makeTempDirSync();
  const contexts: CommandContext[] = [];
  try {
    const cfgPath = `${dir}/daos_control.yml`;
    const port = listener.address.split(":").pop();
    Deno.writeTextFileSync(
      cfgPath,
      `name: daos_server\nport: ${port}\nhostlist: ["${listener.address}"]\n` +
        "transport_config:\n  allow_insecure: true\n",
    );
    await body((json = false) => {
      const h = new Harness(cfgPath, json);
      contexts.push(h.ctx);
      return h;
    });
  } finally {
    for (const c of contexts) c.close();
    await listener.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

class Harness {
  out = new MemorySink();
  err = new MemorySink();
  docs: string[] = [];
  ctx: CommandContext;
  constructor(configPath: string, json: boolean) {
    const log = new Logger({ stdout: this.out, stderr: this.err, jsonOutput: json });
    this.ctx = new CommandContext(
      { configPath, json },
      log,
      new EnvelopeWriter((t) => this.docs.push(t)),
    );
  }
}

const members = [
  create(SystemMemberSchema, { rank: 0, state: "joined", addr: "127.0.0.1:10001" }),
  create(SystemMemberSchema, { rank: 1, state: "stopped", addr: "127.0.0.1:10001" }),
];

Deno.test("system query against a fake MS: request, table, absent ranks error, JSON", async () => {
  let last: SystemQueryReq | undefined;
  await withFakeMs((r) =>
    r.service(MgmtSvc, {
      systemQuery(req) {
        last = req;
        return create(SystemQueryRespSchema, {
          members,
          absentranks: req.ranks.includes("7") ? "7" : "",
          sysSelfHealPolicy: "exclude;pool_exclude;pool_rebuild",
        });
      },
    }), async (mk) => {
    const h = mk();
    await systemQuery(h.ctx, { withStates: "Joined,stopped" });
    assertEquals(last?.sys, "daos_server");
    assertEquals(last?.stateMask, 0x28);
    assertEquals(
      h.out.text,
      "Rank State   \n---- -----   \n0    Joined  \n1    Stopped \n\n",
    );

    const bad = mk();
    await rejects(systemQuery(bad.ctx, { ranks: "[0,7]" }), {
      message: "system query failed: non-existent ranks 7",
    });
    assertEquals(last?.ranks, "0,7");
    assert(bad.out.text.includes("7    Unknown Rank"));

    const j = mk(true);
    await rejects(systemQuery(j.ctx, { ranks: "0,7" }), /non-existent ranks 7/);
    assertEquals(j.out.text, "");
    assertEquals(j.docs.length, 1);
    const doc = JSON.parse(j.docs[0]);
    assertEquals(doc.error, "non-existent ranks 7");
    assertEquals(doc.status, -1025);
    assertEquals(doc.response.members.map((m: { state: string }) => m.state), [
      "joined",
      "stopped",
    ]);
  });
});

Deno.test("system stop: wire force is !--full; failed ranks error", async () => {
  const seen: SystemStopReq[] = [];
  await withFakeMs((r) =>
    r.service(MgmtSvc, {
      systemStop(req) {
        seen.push(req);
        return create(SystemStopRespSchema, {
          results: [
            create(RankResultSchema, { rank: 0, action: "stop", state: "stopped" }),
            create(RankResultSchema, {
              rank: 1,
              action: "stop",
              errored: true,
              msg: "system stop: rank failed to stop",
              state: "errored",
            }),
          ],
        });
      },
    }), async (mk) => {
    const h = mk();
    await rejects(systemStop(h.ctx, {}), {
      message: "system stop failed: check results for failed rank 1",
    });
    assertEquals(
      h.out.text,
      "Rank Operation Result                           \n" +
        "---- --------- ------                           \n" +
        "0    stop      OK                               \n" +
        "1    stop      system stop: rank failed to stop \n\n",
    );
    await rejects(systemStop(mk().ctx, { full: true }), /failed rank 1/);
    assertEquals(seen.map((s) => s.force), [true, false]);
  });
});

Deno.test("exclude prints updated ranks; MS errors carry the command prefix", async () => {
  await withFakeMs((r) =>
    r.service(MgmtSvc, {
      systemExclude(req) {
        if (req.ranks === "9") throw new ConnectError("invalid rank(s): 9", Code.Internal);
        return create(SystemExcludeRespSchema, {
          results: [create(RankResultSchema, { rank: 2, action: "set admin-excluded state" })],
        });
      },
      systemQuery() {
        throw new ConnectError("boom", Code.Internal);
      },
    }), async (mk) => {
    const h = mk();
    await systemExclude(h.ctx, { ranks: "2" }, false);
    assertEquals(h.out.text, "updated ranks: 2\n");
    await rejects(systemExclude(mk().ctx, { ranks: "9" }, false), /invalid rank\(s\): 9/);
    await rejects(systemQuery(mk().ctx, {}), /^Error: system query failed: rpc error: .*boom/);
  });
});

Deno.test("erase refuses running ranks; fails fast when the MS is unavailable", async () => {
  let available = true;
  let erased = 0;
  await withFakeMs((r) =>
    r.service(MgmtSvc, {
      systemQuery() {
        if (!available) throw toWireError(new MsUnavailableError("unavailable"));
        return create(SystemQueryRespSchema, { members: [members[0]] });
      },
      systemErase() {
        if (!available) throw toWireError(new MsUnavailableError("unavailable"));
        erased++;
        return create(SystemEraseRespSchema, {});
      },
    }), async (mk) => {
    await rejects(systemErase(mk().ctx), {
      message: "system erase requires the following 1 rank to be stopped: 0",
    });
    assertEquals(erased, 0);
    available = false;
    await rejects(systemErase(mk().ctx), {
      message: "raft service unavailable (not started yet?)",
    });
  });
});

Deno.test("leader-query lists replicas that do not answer as unresponsive", async () => {
  let self = "";
  await withFakeMs((r) =>
    r.service(MgmtSvc, {
      leaderQuery() {
        return create(LeaderQueryRespSchema, {
          currentLeader: self,
          // port 1 on loopback: nothing listens there, the call is refused
          replicas: [self, "127.0.0.1:1"],
        });
      },
    }), async (mk) => {
    const h = mk();
    self = (await h.ctx.targets())[0];
    await systemLeaderQuery(h.ctx, {});
    assertEquals(
      h.out.text,
      `Current Leader: ${self}\n   Replica Set: ${self}, 127.0.0.1:1\n` +
        "  Unresponsive Replicas: 127.0.0.1:1\n",
    );
    const n = mk();
    await systemLeaderQuery(n.ctx, { downReplicas: true });
    assertEquals(n.out.text, "Unresponsive Replicas: 127.0.0.1:1\n");
  });
});
