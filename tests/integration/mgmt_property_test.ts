/**
 * Property test of the MgmtSvc and CtlSvc.GroupUpdate handlers (issue 15): seeded random and
 * boundary values for every field of Join, SystemQuery/Stop/Start/Exclude/Erase (filters of
 * hostile size included), ClusterEvent, GroupUpdate and StorageFormat (on a host without the
 * storage it names), sent through the real handlers (MgmtSvc over a Connect transport, one MS
 * on a real etcd; the leader's maps delivered through each host's real CtlSvc.GroupUpdate
 * handler).
 * After each batch: SystemQuery still answers, ranks are unique and below NilRank and NextRank,
 * every stored member decodes and encodes and keeps a bounded, printable info, the leader
 * still leads, every host holding a map member holds the leader's current map, a map a host
 * refused was never kept, and a refused rank/host filter names its request field.
 *
 * Reproduce a failure with MGMT_PROPERTY_SEED=<seed printed in the failure>.
 */
import { AssertionError } from "node:assert";
import { NilRank } from "../../control/lib/rankset.ts";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { createHandlerContext } from "@connectrpc/connect";
import { ctlRanksHandlers } from "../../control/handlers/ctl_ranks.ts";
import type { EngineHarness } from "../../control/harness/harness.ts";
import { idleHarness } from "../../control/harness/testing/fixture.ts";
import { decodeRemoteError } from "../../control/lib/rpc/error_codec.ts";
import { mapMembers } from "../../control/mgmt/group_update.ts";
import type { Fanout } from "../../control/mgmt/management_service.ts";
import { replicaMgmtService } from "../../control/handlers/mgmt_svc.ts";
import { memberToProto } from "../../control/handlers/mgmt_system.ts";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import {
  type GroupUpdateReq,
  GroupUpdateReq_EngineSchema,
  GroupUpdateReqSchema,
} from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { SystemMemberSchema } from "../../proto/gen/ts/mgmt/system_pb.ts";
import { StorageFormatReqSchema } from "../../proto/gen/ts/ctl/storage_pb.ts";
import { prng } from "../util/prng.ts";
import { engineYaml, parseConfig } from "../util/config_fixtures.ts";
import { ctlStorageHandlers } from "../../control/handlers/ctl_storage.ts";
import { createServerContext } from "../../control/handlers/server_context.ts";
import { ResponseStatus } from "../../proto/gen/ts/ctl/common_pb.ts";
import { assert, assertEquals } from "./mgmt_assert.ts";
import { MAX_MEMBER_INFO_LEN } from "../../control/lib/member_fields.ts";
import { MsCluster, waitFor } from "./mgmt_helpers.ts";

const SYS = "daos_server";
const BATCHES = 10;
const OPS_PER_BATCH = 20;
/** Hosts that hold members (their CtlSvc.GroupUpdate handler gets the leader's maps). */
const HOSTS = ["127.0.0.2:10001", "127.0.0.3:10001", "127.0.0.4:10001"];
/**
 * StorageFormat's fields (nvme, scm, reformat, replace) against a host whose only storage is a
 * dcpm tier this machine does not have: every request must answer CTL_ERR_SCM for the mount and
 * create nothing (what format does to real storage is tested in the storage tests).
 */
const NO_PMEM_MOUNT = "/mnt/daos-property-never-mounted";
const NO_PMEM_CFG = parseConfig(`provider: ofi+tcp
engines:
${
  engineYaml(`      - class: dcpm
        scm_list: [/dev/pmem0]
        scm_mount: ${NO_PMEM_MOUNT}
`)
}`);

/** A host outside the system that hostile peers send maps to directly. */
const BYSTANDER = "127.0.0.9:10001";

type Rand = () => number;

/** Texts of JavaScript runtime errors: a handler that throws these did not validate. */
const INTERNAL_ERROR =
  /TypeError|RangeError|SyntaxError|Cannot read prop|is not a function|undefined|NaN|cannot encode/i;

function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function int(r: Rand, n: number): number {
  return Math.floor(r() * n);
}

const u32 = (r: Rand) =>
  pick(r, [0, 1, 2, 3, 7, 0x7fffffff, 0xfffffffe, 0xffffffff, int(r, 2 ** 32)]);
const long = (n: number) => "x".repeat(n);
// 127 characters: the longest URI an engine can hold.
const URI_127 = `ofi+tcp://${"a".repeat(55)}.${"b".repeat(55)}:65535`;

function fabricUri(r: Rand): string {
  return pick(r, [
    () => `ofi+tcp://127.0.0.${2 + int(r, 3)}:${20000 + int(r, 1000)}`,
    () => `ofi+tcp://127.0.0.${2 + int(r, 3)}:${20000 + int(r, 1000)}`,
    () => URI_127,
    () => URI_127 + "5",
    () => "",
    () => `ofi+tcp://${long(10000)}:1`,
    () => "ofi+tcp://127.0.0.2",
    () => "ofi+tcp://127.0.0.2:0",
    () => "ofi+tcp://127.0.0.2:65536",
    () => "ucx+dc://127.0.0.2:1",
    () => "ofi+tcp://[::1]:1",
    () => "ofi+tcp://h\u00e9:1",
    () => "://:",
  ])();
}

function controlAddr(r: Rand): string {
  return pick(r, [
    () => pick(r, HOSTS),
    () => pick(r, HOSTS),
    () => "0.0.0.0:10001",
    () => "127.0.0.2",
    () => "127.0.0.2:0",
    () => "127.0.0.2:99999",
    () => `${long(300)}:1`,
    () => "",
    () => ":10001",
    () => "[::1]:10001",
  ])();
}

function faultDomain(r: Rand): string {
  return pick(r, [
    () => `/h${int(r, 4)}`,
    () => `/h${int(r, 4)}`,
    () => `/rack${int(r, 2)}/h${int(r, 4)}`,
    () => "/",
    () => "",
    () => "/a/b/c",
    () => "/a b",
    () => `/${long(65)}`,
    () => long(10000),
    () => "/r=1",
  ])();
}

function uuid(r: Rand, known: string[]): string {
  return pick(r, [
    () => crypto.randomUUID(),
    () => crypto.randomUUID(),
    () => (known.length > 0 ? pick(r, known) : crypto.randomUUID()),
    () => crypto.randomUUID().toUpperCase(),
    () => "",
    () => long(10000),
    () => "00000000-0000-0000-0000-00000000000g",
  ])();
}

function rankField(r: Rand, nextRank: number): number {
  return pick(r, [
    NilRank,
    NilRank,
    NilRank,
    0,
    Math.max(0, nextRank - 1),
    nextRank,
    nextRank + 1,
    0xfffffffe,
    0xfffffffe,
    0xfffffffd,
    int(r, 2 ** 32),
  ]);
}

/**
 * Filters whose size is the attack: a short text naming hundreds of thousands of hosts, and a
 * rank list of many elements in descending order (each insert used to move the whole set).
 */
const MANY_HOSTS = Array.from({ length: 40 }, (_, i) => `h${i}x[0-16384]`).join(",");
const MANY_RANK_ELEMENTS = Array.from({ length: 20000 }, (_, i) => String(40000 - 2 * i)).join(",");

function rankList(r: Rand, held: number[]): string {
  if (held.length > 0 && r() < 0.4) return String(pick(r, held));
  return pick(r, [
    "",
    "0",
    "0-3",
    "1,5",
    "4294967294",
    "4294967295",
    "x",
    "[0-2]",
    "0-4294967294",
    "0-4294967295",
    "[",
    "1\0",
    MANY_RANK_ELEMENTS,
  ]);
}

function hostList(r: Rand): string {
  return pick(r, [
    "",
    HOSTS[0],
    "127.0.0.[2-4]:10001",
    "bad host",
    "0.0.0.0:10001",
    long(2000),
    MANY_HOSTS,
    "127.0.0.2\0:10001",
    "[",
  ]);
}

/** A filter refusal must name the request field it is about. */
const FILTER_REFUSAL = /invalid (rank|host) list|rank list has more|host list (has|names) more/;
const FIELD_NAMED = /\(System(Query|Stop|Start|Exclude)Req field (ranks|hosts)\)/;

function sysName(r: Rand): string {
  return pick(r, [SYS, "other", "", `${SYS}-2.6.0`, long(10000)]);
}

function randomMap(r: Rand): GroupUpdateReq {
  const n = int(r, 4);
  return create(GroupUpdateReqSchema, {
    sys: sysName(r),
    mapVersion: u32(r),
    engines: Array.from({ length: n }, () =>
      create(GroupUpdateReq_EngineSchema, {
        rank: pick(r, [0, 1, 2, NilRank, 0xfffffffe, int(r, 2 ** 32)]),
        uri: fabricUri(r),
        incarnation: BigInt(u32(r)),
      })),
  });
}

const ctx = () =>
  createHandlerContext({
    service: CtlSvc,
    method: CtlSvc.method.groupUpdate,
    protocolName: "connect",
    requestMethod: "POST",
    url: "http://127.0.0.1/ctl.CtlSvc/GroupUpdate",
  });

Deno.test("MgmtSvc/CtlSvc handlers under random and boundary input keep the system usable", async () => {
  const seed = Number(Deno.env.get("MGMT_PROPERTY_SEED") ?? Date.now() % 2 ** 31);
  const r = prng(seed);
  const c = await MsCluster.start(1);
  const harnesses = new Map<string, EngineHarness>(
    [...HOSTS, BYSTANDER].map((h) => [h, idleHarness(h)]),
  );
  let step = "start";
  try {
    for (const h of harnesses.values()) await h.start();
    const handlers = new Map(
      [...harnesses].map(([a, h]) => [
        a,
        ctlRanksHandlers({ harness: () => h, config: { name: SYS } }),
      ]),
    );
    // The leader's maps go through each host's real CtlSvc.GroupUpdate handler; hosts that
    // do not exist (a 0.0.0.0 address) fail like an unreachable server.
    (c.fanout as Fanout).groupUpdate = async (addr, req) => {
      const h = handlers.get(addr);
      if (!h || addr === BYSTANDER) throw new Error(`connection refused: ${addr}`);
      return (await h.groupUpdate(req, ctx())).results;
    };
    const ms = c.services[0];
    const mc = createClient(
      MgmtSvc,
      createRouterTransport(({ service }) => service(MgmtSvc, replicaMgmtService({ ms }))),
    );
    let erased = false;
    // No harness: every engine counts as stopped.
    const format = ctlStorageHandlers(createServerContext({ config: NO_PMEM_CFG }));
    const ok = new Map<string, number>(); // operations that succeeded, by kind
    let checked = 0; // batches after which some host's map was checked

    for (let batch = 0; batch < BATCHES; batch++) {
      const state = await ms.db!.read();
      const known = [...state.members.keys()];
      const held = [...state.members.values()].map((m) => m.rank);
      for (let op = 0; op < OPS_PER_BATCH; op++) {
        const kind = pick(r, [
          "join",
          "join",
          "join",
          "join",
          "rejoin",
          "query",
          "stop",
          "start",
          "exclude",
          "event",
          "hostile-map",
          "hostile-map",
          "format",
          "erase",
        ]);
        step = `batch ${batch} op ${op} ${kind}`;
        try {
          ok.set(kind, (ok.get(kind) ?? 0) + 1);
          switch (kind) {
            case "join": {
              // A well-formed join of a new engine, then one or two fields given random or
              // boundary values (all fields random at once would hardly ever pass the first).
              const n = int(r, 1000);
              const req = {
                sys: SYS,
                uuid: crypto.randomUUID() as string,
                rank: NilRank,
                uri: `ofi+tcp://127.0.0.${2 + (n % 3)}:${20000 + n}`,
                nctxs: 2,
                addr: HOSTS[n % 3],
                srvFaultDomain: `/h${n % 3}`,
                idx: n % 2,
                incarnation: BigInt(n + 1),
                secondaryUris: [] as string[],
                secondaryNctxs: [] as number[],
                checkMode: false,
                replace: false,
              };
              const mutations = [
                () => req.sys = sysName(r),
                () => req.uuid = uuid(r, known),
                () => req.rank = rankField(r, state.nextRank),
                () => req.rank = rankField(r, state.nextRank),
                () => req.rank = rankField(r, state.nextRank),
                () => req.uri = fabricUri(r),
                () => req.nctxs = u32(r),
                () => req.addr = controlAddr(r),
                () => req.srvFaultDomain = faultDomain(r),
                () => req.idx = u32(r),
                () => req.incarnation = BigInt(u32(r)) * BigInt(u32(r)),
                () =>
                  req.secondaryUris = Array.from(
                    { length: pick(r, [1, 2, 9]) },
                    () => fabricUri(r),
                  ),
                () => req.secondaryNctxs = Array.from({ length: pick(r, [1, 9]) }, () => u32(r)),
                () => req.checkMode = true,
                () => req.replace = true,
              ];
              for (let i = pick(r, [0, 1, 1, 2]); i > 0; i--) pick(r, mutations)();
              await mc.join(req);
              break;
            }
            case "rejoin": {
              const s = await ms.db!.read();
              const m = [...s.members.values()][int(r, Math.max(1, s.members.size))];
              if (!m) break;
              await mc.join({
                sys: SYS,
                uuid: m.uuid,
                rank: pick(r, [m.rank, NilRank, m.rank + 1]),
                uri: m.fabric_uri,
                nctxs: m.fabric_contexts,
                addr: pick(r, [m.addr, m.addr, controlAddr(r)]),
                srvFaultDomain: m.fault_domain,
                incarnation: BigInt(m.incarnation) + 1n,
              });
              break;
            }
            case "query":
              await mc.systemQuery({
                sys: r() < 0.8 ? SYS : sysName(r),
                ranks: rankList(r, held),
                hosts: hostList(r),
                stateMask: u32(r),
              });
              break;
            case "stop":
              await mc.systemStop({
                sys: r() < 0.8 ? SYS : sysName(r),
                ranks: rankList(r, held),
                hosts: hostList(r),
                force: r() < 0.5,
                ignoreAdminExcluded: r() < 0.5,
              });
              break;
            case "start":
              await mc.systemStart({
                sys: r() < 0.8 ? SYS : sysName(r),
                ranks: rankList(r, held),
                hosts: hostList(r),
                ignoreAdminExcluded: r() < 0.5,
              });
              break;
            case "exclude":
              await mc.systemExclude({
                sys: r() < 0.8 ? SYS : sysName(r),
                ranks: rankList(r, held),
                hosts: hostList(r),
                clear: r() < 0.5,
              });
              break;
            case "event":
              // Often about a member (engine_died / swim_rank_dead move it): its message is
              // then kept as the member's info.
              await mc.clusterEvent({
                sequence: BigInt(u32(r)),
                event: {
                  id: pick(r, [2, 2, 17, int(r, 32)]),
                  rank: held.length > 0 && r() < 0.6 ? pick(r, held) : u32(r),
                  incarnation: pick(r, [0n, BigInt(u32(r)), 0xffffffffffffffffn]),
                  msg: pick(r, ["", "boom", long(10000), long(1_200_000), "\x1b[2J\0boom"]),
                },
              });
              break;
            case "hostile-map": {
              // Straight to a host, as any peer that reaches the control port could.
              const h = handlers.get(pick(r, [BYSTANDER, BYSTANDER, ...HOSTS]))!;
              const req = randomMap(r);
              // A valid-looking map with a higher version would outrank the leader's on a
              // member host; send those to the bystander only.
              await handlers.get(BYSTANDER)!.groupUpdate(req, ctx()).catch(() => {});
              if (req.sys !== SYS) await h.groupUpdate(req, ctx()).catch(() => {});
              break;
            }
            case "format": {
              const resp = await format.storageFormat(create(StorageFormatReqSchema, {
                nvme: r() < 0.5 ? {} : undefined,
                scm: r() < 0.5 ? {} : undefined,
                reformat: r() < 0.5,
                replace: r() < 0.5,
              }));
              assertEquals(
                resp.mrets.map((m) => [m.mntpoint, m.state?.status]),
                [[NO_PMEM_MOUNT, ResponseStatus.CTL_ERR_SCM]],
                `${step}: format answers per mount`,
              );
              break;
            }
            case "erase":
              if (erased || r() < 0.7) break;
              erased = true;
              await mc.systemErase({ sys: SYS });
              // Reset format makes each host forget its map; the database starts afresh
              // once storage is formatted again.
              for (const h of harnesses.values()) h.groupMap.forget();
              await ms.startDb();
              await c.leader();
              break;
          }
        } catch (e) {
          if (e instanceof AssertionError) throw e; // an invariant inside an operation
          ok.set(kind, (ok.get(kind) ?? 0) - 1);
          // Refusals are expected; they must be errors with a message, never a crash.
          const err = decodeRemoteError(e);
          if (Deno.env.get("MGMT_PROPERTY_VERBOSE")) console.log(step, err.message.slice(0, 200));
          assert(err.message.length > 0, `${step}: an error without a message`);
          // A refusal says what was wrong; a runtime error is a handler bug.
          assert(!INTERNAL_ERROR.test(err.message), `${step}: ${err.message.slice(0, 500)}`);
          if (FILTER_REFUSAL.test(err.message)) {
            assert(FIELD_NAMED.test(err.message), `${step}: ${err.message.slice(0, 500)}`);
          }
        }
      }

      step = `batch ${batch} invariants`;
      assertEquals(
        await Deno.stat(NO_PMEM_MOUNT).then(() => true, () => false),
        false,
        `${step}: format created ${NO_PMEM_MOUNT}`,
      );
      await ms.requireLeader();
      const s = await ms.db!.read();
      assertEquals(s.invalid, [], `${step}: nothing written through the handlers is unusable`);
      const q = await mc.systemQuery({ sys: SYS }).catch((e) => {
        const err = decodeRemoteError(e);
        // An empty database (nobody joined yet, or just erased) answers "not started".
        assert(s.members.size === 0 && /raft service unavailable/.test(err.message), err.message);
        return null;
      });
      const ranks = [...s.members.values()].map((m) => m.rank);
      assertEquals(new Set(ranks).size, ranks.length, `${step}: ranks unique`);
      for (const rank of ranks) {
        assert(rank < NilRank && rank < s.nextRank, `${step}: rank ${rank} < NextRank`);
      }
      assert(s.nextRank < NilRank, `${step}: NextRank ${s.nextRank} below NilRank`);
      if (q) {
        assertEquals(
          q.members.map((m) => m.rank).sort((a, b) => a - b),
          ranks.sort((a, b) => a - b),
        );
      }
      for (const m of s.members.values()) {
        // A peer's message is kept bounded and printable (it is in every SystemQuery reply).
        assert(m.info.length <= MAX_MEMBER_INFO_LEN, `${step}: info of ${m.info.length} chars`);
        // deno-lint-ignore no-control-regex
        assert(!/[\u0000-\u001f]/.test(m.info), `${step}: control character in info`);
        toBinary(SystemMemberSchema, memberToProto(m));
      }
      // Every host holding a map member gets the leader's current map.
      const inMap = mapMembers(s.members.values());
      const healthy = [...new Set(inMap.map((m) => m.addr))].filter((a) => HOSTS.includes(a));
      if (healthy.length > 0) {
        checked++;
        await waitFor(`${step}: hosts ${healthy} hold the leader's map`, async () => {
          const cur = await ms.db!.read();
          return healthy.every((a) =>
            harnesses.get(a)!.groupMap.latestVersion() === cur.mapVersion
          );
        }, 10_000);
      }
      // The bystander kept only a map it could accept: this system's, every entry usable.
      const kept = harnesses.get(BYSTANDER)!.groupMap.latest();
      if (kept) {
        assertEquals(kept.sys, SYS, `${step}: bystander holds another system's map`);
        assert(kept.engines.length > 0, `${step}: bystander holds an empty map`);
        for (const e of kept.engines) {
          assert(e.rank < NilRank && e.uri !== "" && e.uri.length <= 127, `${step}: ${e.uri}`);
        }
        assertEquals(new Set(kept.engines.map((e) => e.rank)).size, kept.engines.length);
      }
    }
    if (Deno.env.get("MGMT_PROPERTY_VERBOSE")) {
      console.log("succeeded:", ok, "maps checked:", checked);
    }
    // Not vacuous: the valid part of the input went through and maps were checked.
    step = "end";
    assert(checked >= 2, `group maps checked after only ${checked} batches`);
    assert((ok.get("join") ?? 0) >= 3, `only ${ok.get("join") ?? 0} joins succeeded`);
  } catch (e) {
    throw new Error(
      `property test failed at ${step} with MGMT_PROPERTY_SEED=${seed}: ${
        e instanceof Error ? e.message : String(e)
      }`,
      { cause: e },
    );
  } finally {
    for (const h of harnesses.values()) await h.shutdown().catch(() => {});
    await c.close();
  }
});
