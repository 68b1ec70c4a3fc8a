import { deepEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { Fault } from "../lib/fault.ts";
import { decodeMember, emptyState, MembershipDb, noChanges } from "./db.ts";
import type { Compare, EtcdClient, Op } from "./etcd_client.ts";
import type { Member } from "./member.ts";

const UUID = "5e471cbc-701a-429c-9ab8-0584fa047f8b";
const KEY = `/daos/s/members/${UUID}`;

function good(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    rank: 3,
    uuid: UUID,
    addr: "10.0.0.1:10001",
    state: "joined",
    fault_domain: "/h1",
    incarnation: "18446744073709551615",
    fabric_uri: "ofi+tcp://10.0.0.1:31416",
    secondary_fabric_uris: [],
    fabric_contexts: 4,
    secondary_fabric_contexts: [],
    info: "",
    last_update: "2026-01-01T00:00:00Z",
    ...over,
  };
}

Deno.test("decodeMember: a usable record is a member; anything else is set aside with why", () => {
  const m = decodeMember(JSON.stringify(good()), KEY);
  assert(!("problem" in m));
  assertEquals((m as Member).rank, 3);
  const cases: [string, string, number | null][] = [
    ["{", "not JSON", null],
    [JSON.stringify(good({ rank: 4294967296 })), "rank 4294967296 out of range", null],
    [JSON.stringify(good({ rank: 4294967295 })), "rank 4294967295 out of range", null],
    [JSON.stringify(good({ rank: -1 })), "out of range", null],
    [JSON.stringify(good({ rank: 1.5 })), "out of range", null],
    [JSON.stringify(good({ rank: "3" })), "no numeric rank", null],
    [JSON.stringify(good({ addr: "10.0.0.1" })), "invalid control address", 3],
    [JSON.stringify(good({ fabric_uri: "x".repeat(10000) })), "fabric URI", 3],
    [JSON.stringify(good({ incarnation: "abc" })), "incarnation", 3],
    [JSON.stringify(good({ incarnation: "18446744073709551616" })), "incarnation", 3],
    [JSON.stringify(good({ uuid: "5e471cbc-701a-429c-9ab8-0584fa047f8c" })), "differs", 3],
    [JSON.stringify(good({ fault_domain: "" })), "no fault domain", 3],
    [JSON.stringify(good({ fabric_contexts: 2 ** 32 })), "fabric contexts", 3],
    [JSON.stringify(good({ secondary_fabric_uris: "a" })), "secondary_fabric_uris", 3],
    [JSON.stringify(good({ info: 7 })), "info is not a string", 3],
    ["null", "no numeric rank", null],
  ];
  for (const [json, problem, rank] of cases) {
    const r = decodeMember(json, KEY);
    assert("problem" in r, `${json.slice(0, 80)} should be invalid`);
    assert(r.problem.includes(problem), `${r.problem} should include ${problem}`);
    assertEquals([r.key, r.uuid, r.rank], [KEY, UUID, rank]);
  }
});

/** A MembershipDb over a stub etcd that records transactions and holds `stored`. */
function stubDb(stored: Record<string, string>) {
  const txns: Op[][] = [];
  const etcd = {
    getPrefix: () =>
      Promise.resolve({
        kvs: Object.entries(stored).map(([key, value]) => ({
          key,
          value,
          createRevision: 1n,
          modRevision: 1n,
        })),
      }),
    txn: (_c: Compare[], ops: Op[]) => {
      txns.push(ops);
      return Promise.resolve({ succeeded: true, revision: 2n });
    },
  } as unknown as EtcdClient;
  return { db: new MembershipDb(etcd, "s"), txns };
}

Deno.test("MembershipDb.read: invalid member records do not wedge it; they are listed apart", async () => {
  const { db } = stubDb({
    "/daos/s/meta": JSON.stringify({ next_rank: 4, map_version: 9, version: "12" }),
    [KEY]: JSON.stringify(good()),
    "/daos/s/members/bad": JSON.stringify(good({ uuid: "bad", rank: 4294967296 })),
  });
  const s = await db.read();
  assertEquals([...s.members.keys()], [UUID]);
  assertEquals(s.invalid.map((r) => [r.key, r.uuid]), [["/daos/s/members/bad", "bad"]]);
});

Deno.test("MembershipDb.commit: a member that cannot be stored is refused before any write", async () => {
  const { db, txns } = stubDb({});
  const fence: Compare = { key: "/daos/s/election/1", target: "create", equals: 1n };
  const m = decodeMember(JSON.stringify(good()), KEY) as Member;
  await rejects(
    () => db.commit(fence, emptyState(), { ...noChanges(), put: [{ ...m, rank: 2 ** 32 }] }),
    (e: unknown) => e instanceof Fault && e.description.includes("out of range"),
  );
  await rejects(
    () => db.commit(fence, emptyState(), { ...noChanges(), nextRank: 4294967295 }),
    (e: unknown) => e instanceof Fault && e.description.includes("NextRank 4294967295"),
  );
  assertEquals(txns.length, 0);
  assert((await db.commit(fence, emptyState(), { ...noChanges(), put: [m] })) !== null);
  assertEquals(txns.length, 1);
});

Deno.test("MembershipDb.read: members sharing a rank are all set aside, naming each other", async () => {
  const other = "5e471cbc-701a-429c-9ab8-0584fa047f8c";
  const third = "5e471cbc-701a-429c-9ab8-0584fa047f8d";
  const { db } = stubDb({
    [KEY]: JSON.stringify(good()),
    [`/daos/s/members/${other}`]: JSON.stringify(good({ uuid: other })),
    [`/daos/s/members/${third}`]: JSON.stringify(good({ uuid: third, rank: 4 })),
  });
  const s = await db.read();
  assertEquals([...s.members.keys()], [third]);
  assertEquals(s.invalid.map((r) => [r.uuid, r.rank]), [[UUID, 3], [other, 3]]);
  assert(s.invalid[0].problem.includes(`rank 3 held by 2 member records (${UUID}, ${other})`));
});

Deno.test("MembershipDb.read: a damaged meta key is a fault naming the key and the way out", async () => {
  for (const meta of ["{", JSON.stringify({ next_rank: "x", map_version: 1, version: "1" })]) {
    const { db } = stubDb({ "/daos/s/meta": meta });
    await rejects(
      () => db.read(),
      (e: unknown) =>
        e instanceof Fault && e.description.startsWith("MS database key /daos/s/meta is damaged") &&
        e.resolution.includes("dmg system erase"),
    );
  }
});
