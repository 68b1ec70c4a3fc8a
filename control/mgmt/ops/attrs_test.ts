/**
 * Table-driven tests of system attributes and properties on the in-memory store: what a
 * set-attr / set-prop request leaves stored (fenced writes, nothing written for a refused
 * request or a no-op), and what get-attr / get-prop answer (reserved keys hidden, defaults,
 * computed properties, the errors naming the key, the property and the allowed values).
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { Fault } from "../../lib/fault.ts";
import { SystemPropError } from "../../lib/system_props.ts";
import { opsFixture } from "../testing/fixture.ts";
import { getAttrs, isReservedKey, setAttrs } from "./attrs.ts";
import { getProps, setProps } from "./props.ts";
import { clusterEvent, RAS_SWIM_RANK_DEAD } from "./events.ts";
import { member } from "../testing/fixture.ts";
import { query } from "./system.ts";

const STORED = new Map([
  ["mgmt.fabric_providers", "ofi+tcp"],
  ["prop.self_heal", "exclude"],
  ["color", "blue"],
  ["a", "1"],
]);

function attrsOf(fx: ReturnType<typeof opsFixture>): Record<string, string> {
  return Object.fromEntries([...fx.store.state.attrs].sort(([a], [b]) => a < b ? -1 : 1));
}

interface SetCase {
  name: string;
  req: Record<string, string>;
  /** The stored attributes afterwards (all, reserved included). */
  want?: Record<string, string>;
  /** Commits expected (0 for a no-op). */
  commits?: number;
  /** The error description (a refused request writes nothing). */
  err?: RegExp;
}

const SET_CASES: SetCase[] = [
  {
    name: "new and changed keys in one write",
    req: { k1: "v1", color: "red" },
    want: {
      a: "1",
      color: "red",
      k1: "v1",
      "mgmt.fabric_providers": "ofi+tcp",
      "prop.self_heal": "exclude",
    },
    commits: 1,
  },
  {
    name: "an empty value deletes (del-attr)",
    req: { color: "" },
    want: { a: "1", "mgmt.fabric_providers": "ofi+tcp", "prop.self_heal": "exclude" },
    commits: 1,
  },
  {
    name: "deleting an absent key and re-setting the same value write nothing",
    req: { nope: "", a: "1" },
    commits: 0,
  },
  {
    name: "a reserved mgmt. key is refused, naming it",
    req: { ok: "1", "mgmt.fabric_providers": "ucx" },
    err: /^cannot set reserved key "mgmt\.fabric_providers"$/,
  },
  {
    name: "a reserved prop. key is refused (properties go through set-prop)",
    req: { "prop.self_heal": "none" },
    err: /^cannot set reserved key "prop\.self_heal"$/,
  },
  { name: "an empty key is refused", req: { "": "x" }, err: /^empty system attribute key$/ },
  { name: "no attributes at all is refused", req: {}, err: /no system attributes/ },
  {
    name: "a control character in a key is refused",
    req: { "a\nb": "x" },
    err: /^invalid system attribute key "a\nb": at most 255 characters/,
  },
  {
    name: "an oversized value is refused",
    req: { big: "x".repeat(5000) },
    err: /"big" is 5000 characters long, more than the 4096 accepted/,
  },
];

for (const c of SET_CASES) {
  Deno.test(`setAttrs: ${c.name}`, async () => {
    const fx = opsFixture([], { attrs: new Map(STORED) });
    const before = attrsOf(fx);
    if (c.err) {
      const e = await setAttrs(fx.ctx, c.req).then(() => undefined, (x) => x);
      ok(e instanceof Fault && c.err.test(e.description), String(e));
      ok(e.resolution !== "", "a refusal names the fix");
      deepEqual(attrsOf(fx), before);
      equal(fx.store.commitCalls, 0);
      return;
    }
    await setAttrs(fx.ctx, c.req);
    deepEqual(attrsOf(fx), c.want ?? before);
    equal(fx.store.commitCalls, c.commits);
  });
}

Deno.test("setAttrs: not leading → not-leader, nothing stored", async () => {
  const fx = opsFixture([], { attrs: new Map(STORED) });
  fx.store.leading = false;
  fx.store.leader = "10.0.0.8:10001";
  await rejects(setAttrs(fx.ctx, { k: "v" }));
  equal(fx.store.state.attrs.get("k"), undefined);
});

interface GetCase {
  name: string;
  keys: string[];
  want?: Record<string, string>;
  err?: RegExp;
}

const GET_CASES: GetCase[] = [
  {
    name: "no keys: every user attribute, reserved hidden",
    keys: [],
    want: { a: "1", color: "blue" },
  },
  { name: "named keys", keys: ["color"], want: { color: "blue" } },
  {
    name: "a reserved key asked by name is left out (as the reference)",
    keys: ["a", "mgmt.fabric_providers"],
    want: { a: "1" },
  },
  {
    name: "an unset key fails, naming it",
    keys: ["a", "nope"],
    err: /^unable to find system attribute with key "nope"$/,
  },
];

for (const c of GET_CASES) {
  Deno.test(`getAttrs: ${c.name}`, async () => {
    const fx = opsFixture([], { attrs: new Map(STORED) });
    if (c.err) {
      const e = await getAttrs(fx.ctx, c.keys).then(() => undefined, (x) => x);
      ok(e instanceof Fault && c.err.test(e.description), String(e));
      return;
    }
    deepEqual(await getAttrs(fx.ctx, c.keys), c.want);
  });
}

Deno.test("isReservedKey: prop. and mgmt. prefixes only", () => {
  deepEqual(
    ["prop.x", "mgmt.x", "props", "mgmtx", "x.prop."].map(isReservedKey),
    [true, true, false, false, false],
  );
});

const COMPUTED = { system: "daos_server", version: "2.9.100" };

interface PropCase {
  name: string;
  set?: Record<string, string>;
  keys: string[];
  want?: Record<string, string>;
  /** Stored prop.* attributes afterwards. */
  stored?: Record<string, string>;
  err?: RegExp;
}

const PROP_CASES: PropCase[] = [
  {
    name: "get all: computed values and defaults",
    keys: [],
    want: {
      daos_system: "daos_server",
      daos_version: "2.9.100",
      pool_scrub_mode: "off",
      pool_scrub_thresh: "0",
      self_heal: "exclude;pool_exclude;pool_rebuild",
    },
  },
  {
    name: "set then get: values normalised and stored as prop.<name>",
    set: { pool_scrub_mode: "LAZY", pool_scrub_thresh: "007", self_heal: "pool_rebuild;exclude" },
    keys: ["self_heal", "pool_scrub_mode", "pool_scrub_thresh"],
    want: { self_heal: "exclude;pool_rebuild", pool_scrub_mode: "lazy", pool_scrub_thresh: "7" },
    stored: {
      "prop.pool_scrub_mode": "lazy",
      "prop.pool_scrub_thresh": "7",
      "prop.self_heal": "exclude;pool_rebuild",
    },
  },
  {
    name: "self_heal none",
    set: { self_heal: "none" },
    keys: ["self_heal"],
    want: { self_heal: "none" },
    stored: { "prop.self_heal": "none" },
  },
  {
    name: "an unknown property fails, listing the known ones",
    set: { pool_reclaim: "lazy" },
    keys: [],
    err:
      /^unknown system property "pool_reclaim" \(known: daos_system, daos_version, pool_scrub_mode, pool_scrub_thresh, self_heal\)$/,
  },
  {
    name: "a read-only property is refused",
    set: { daos_version: "3.0" },
    keys: [],
    err:
      /^system property "daos_version" is read-only \(computed by the system\); settable: pool_scrub_mode, pool_scrub_thresh, self_heal$/,
  },
  {
    name: "a bad value names the property and the allowed values; nothing is written",
    set: { self_heal: "none", pool_scrub_mode: "sometimes" },
    keys: [],
    err:
      /^invalid value "sometimes" for system property "pool_scrub_mode" \(valid: off,lazy,timed\)$/,
  },
  {
    name: "a negative threshold is refused",
    set: { pool_scrub_thresh: "-1" },
    keys: [],
    err: /^invalid value "-1" for system property "pool_scrub_thresh" \(valid: an integer from 0/,
  },
  {
    name: "an unknown self_heal flag is refused",
    set: { self_heal: "exclude;rebuild" },
    keys: [],
    err:
      /^invalid value "exclude;rebuild" for system property "self_heal" \(valid: "none" or flags exclude, pool_exclude, pool_rebuild joined by ";"\)$/,
  },
  {
    name: "get of an unknown name fails",
    keys: ["nope"],
    err: /^unknown system property "nope"/,
  },
];

for (const c of PROP_CASES) {
  Deno.test(`system properties: ${c.name}`, async () => {
    const fx = opsFixture([]);
    try {
      if (c.set) await setProps(fx.ctx, c.set);
      const got = await getProps(fx.ctx, c.keys, COMPUTED);
      equal(c.err, undefined, "expected an error");
      deepEqual(got, c.want);
      const props = Object.fromEntries(
        [...fx.store.state.attrs].filter(([k]) => k.startsWith("prop.")),
      );
      deepEqual(props, c.stored ?? {});
    } catch (e) {
      if (c.err === undefined) throw e;
      ok(e instanceof Fault && c.err.test(e.description), String(e));
      ok(!(e instanceof SystemPropError));
      equal(fx.store.commitCalls, 0, "a refused request writes nothing");
    }
  });
}

Deno.test("self_heal property drives the MS: SystemQuery reports it, swim_rank_dead obeys it", async () => {
  const fx = opsFixture([member(1, 1, "joined", { incarnation: "5" })]);
  await setProps(fx.ctx, { self_heal: "pool_rebuild" });
  equal((await query(fx.ctx, { ranks: "", hosts: "", stateMask: 0 })).selfHeal, "pool_rebuild");
  await clusterEvent(fx.ctx, { id: RAS_SWIM_RANK_DEAD, rank: 1, incarnation: 5n, msg: "dead" });
  equal(fx.store.members()[0].state, "joined", "exclude flag off: no exclusion");
  await setProps(fx.ctx, { self_heal: "exclude" });
  await clusterEvent(fx.ctx, { id: RAS_SWIM_RANK_DEAD, rank: 1, incarnation: 5n, msg: "dead" });
  equal(fx.store.members()[0].state, "excluded");
});
