/**
 * `dmg system set-attr|get-attr|del-attr|set-prop|get-prop` and the pool-dependent refusals
 * (`rebuild start|stop`, `self-heal eval`, `cleanup`) against a MockInvoker: flags → the
 * request sent → the scripted answer → text or `-j` output and exit status, with the errors
 * (bad syntax, unknown or read-only property, bad value, MS fault, MS down).
 */
import { deepEqual, equal, match } from "node:assert/strict";
import type { DescMessage } from "@bufbuild/protobuf";
import type { Method } from "../../control/lib/control/invoker.ts";
import { MockInvoker, refused, remote } from "../../control/lib/control/mock_invoker.ts";
import { makeFault } from "../../control/lib/fault.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { runDmg, testConfig } from "../testing/dmg_harness.ts";
import { parseKeys, parseKeyValues } from "./system_attrs.ts";

const SET_ATTR = MgmtSvc.method.systemSetAttr;
const GET_ATTR = MgmtSvc.method.systemGetAttr;
const SET_PROP = MgmtSvc.method.systemSetProp;
const GET_PROP = MgmtSvc.method.systemGetProp;
const ALL = [SET_ATTR, GET_ATTR, SET_PROP, GET_PROP] as Method<DescMessage, DescMessage>[];
const H1 = "h1:10001";
const REFUSED = `client: code = 506 description = "the server at ${H1} refused the connection": ` +
  "unable to contact the DAOS Management Service";

interface Case {
  name: string;
  args: string[];
  script?: (m: MockInvoker) => void;
  code: number;
  out?: string | RegExp;
  err?: string | RegExp;
  /** The one request of a method and the fields it must hold. */
  sent?: [Method<DescMessage, DescMessage>, Record<string, unknown>];
  /** No request at all (refused before any). */
  none?: boolean;
  json?: (doc: { response: unknown; error: string | null; status: number }) => void;
}

const NO_POOLS = "needs pools: this DAOS system has no pools (pool support is not available " +
  "yet), so there is nothing to";

const CASES: Case[] = [
  {
    name: "set-attr: the pairs reach the MS; one line of success",
    args: ["system", "set-attr", "k1:v1, k2 : v2"],
    script: (m) => m.reply(SET_ATTR, {}),
    code: 0,
    out: "system set-attr succeeded\n",
    err: "",
    sent: [SET_ATTR, { sys: "daos_server", attributes: { k1: "v1", k2: "v2" } }],
  },
  {
    name: "set-attr -j: null response, no error",
    args: ["-j", "system", "set-attr", "k1:v1"],
    script: (m) => m.reply(SET_ATTR, {}),
    code: 0,
    json: (doc) => deepEqual(doc, { response: null, error: null, status: 0 }),
  },
  {
    name: "set-attr: a key without value is bad syntax, nothing sent",
    args: ["system", "set-attr", "k1"],
    code: 1,
    err: 'ERROR: dmg: invalid property "k1" (must be key:val)\n',
    none: true,
  },
  {
    name: "set-attr -j: bad syntax in the envelope",
    args: ["-j", "system", "set-attr", "k1:v1,k2:"],
    code: 1,
    err: 'ERROR: dmg: value of "k2" must not be empty\n',
    json: (doc) =>
      deepEqual(doc, { response: null, error: 'value of "k2" must not be empty', status: -1025 }),
    none: true,
  },
  {
    name: "set-attr: no argument is go-flags' missing argument",
    args: ["system", "set-attr"],
    code: 1,
    err: "ERROR: dmg: the required argument `<attrs>` was not provided\n",
    none: true,
  },
  {
    name: "set-attr: the MS refuses a reserved key; its fault is the command's error",
    args: ["system", "set-attr", "mgmt.x:1"],
    script: (m) =>
      m.fail(
        SET_ATTR,
        remote(makeFault("SystemUnknown", 'cannot set reserved key "mgmt.x"', "pick another key")),
      ),
    code: 1,
    err: 'ERROR: dmg: system set-attr failed: system: code = 400 description = "cannot set ' +
      'reserved key "mgmt.x""\nERROR: dmg: system: code = 400 resolution = "pick another key"\n',
  },
  {
    name: "set-attr: MS down (connection refused)",
    args: ["system", "set-attr", "k:v"],
    script: (m) =>
      m.on(SET_ATTR, (_r, addr) => {
        throw refused(addr);
      }),
    code: 1,
    err: `ERROR: dmg: system set-attr failed: ${REFUSED}\n`,
  },
  {
    name: "del-attr: set-attr with empty values",
    args: ["system", "del-attr", "k1,k2"],
    script: (m) => m.reply(SET_ATTR, {}),
    code: 0,
    out: "system del-attr succeeded\n",
    sent: [SET_ATTR, { attributes: { k1: "", k2: "" } }],
  },
  {
    name: "del-attr: an empty key in the list is refused",
    args: ["system", "del-attr", "k1,,k2"],
    code: 1,
    err: "ERROR: dmg: key must not be empty\n",
    none: true,
  },
  {
    name: "get-attr: all attributes in a Name/Value table, by key",
    args: ["system", "get-attr"],
    script: (m) => m.reply(GET_ATTR, { attributes: { zeta: "last", alpha: "first" } }),
    code: 0,
    out: "Name  Value \n----  ----- \nalpha first \nzeta  last  \n",
    sent: [GET_ATTR, { keys: [] }],
  },
  {
    name: "get-attr -j: no attributes is a null map (Go's nil map)",
    args: ["-j", "system", "get-attr"],
    script: (m) => m.reply(GET_ATTR, { attributes: {} }),
    code: 0,
    json: (doc) => deepEqual(doc.response, { attributes: null }),
  },
  {
    name: "get-attr: named keys are sent; nothing set prints a line",
    args: ["system", "get-attr", "a,b"],
    script: (m) => m.reply(GET_ATTR, { attributes: {} }),
    code: 0,
    out: "No system attributes found.\n",
    sent: [GET_ATTR, { keys: ["a", "b"] }],
  },
  {
    name: "get-attr -j: the attributes map",
    args: ["-j", "system", "get-attr"],
    script: (m) => m.reply(GET_ATTR, { attributes: { k: "v" } }),
    code: 0,
    json: (doc) => deepEqual(doc, { response: { attributes: { k: "v" } }, error: null, status: 0 }),
  },
  {
    name: "get-attr: an unknown key fails with the MS's message",
    args: ["system", "get-attr", "nope"],
    script: (m) =>
      m.fail(
        GET_ATTR,
        remote(makeFault("SystemUnknown", 'unable to find system attribute with key "nope"')),
      ),
    code: 1,
    err:
      /^ERROR: dmg: system get-attr failed: system: code = 400 description = "unable to find system attribute with key "nope""\n/,
  },
  {
    name: "get-attr -j: MS down in the envelope",
    args: ["-j", "system", "get-attr"],
    script: (m) =>
      m.on(GET_ATTR, (_r, addr) => {
        throw refused(addr);
      }),
    code: 1,
    json: (doc) => {
      deepEqual([doc.response, doc.error], [null, REFUSED]);
      equal(doc.status !== 0, true, "a failed command's status is not 0");
    },
  },
  {
    name: "set-prop: values normalised before sending",
    args: ["system", "set-prop", "self_heal:pool_rebuild;exclude,pool_scrub_mode:Timed"],
    script: (m) => m.reply(SET_PROP, {}),
    code: 0,
    out: "system set-prop succeeded\n",
    sent: [SET_PROP, {
      sys: "daos_server",
      properties: { self_heal: "exclude;pool_rebuild", pool_scrub_mode: "timed" },
    }],
  },
  {
    name: "set-prop: an unknown property names the known ones, nothing sent",
    args: ["system", "set-prop", "pool_reclaim:lazy"],
    code: 1,
    err: 'ERROR: dmg: unknown system property "pool_reclaim" (known: daos_system, ' +
      "daos_version, pool_scrub_mode, pool_scrub_thresh, self_heal)\n",
    none: true,
  },
  {
    name: "set-prop: a read-only property is refused",
    args: ["system", "set-prop", "daos_system:other"],
    code: 1,
    err: 'ERROR: dmg: system property "daos_system" is read-only (computed by the system); ' +
      "settable: pool_scrub_mode, pool_scrub_thresh, self_heal\n",
    none: true,
  },
  {
    name: "set-prop -j: a bad value names the property and the allowed values",
    args: ["-j", "system", "set-prop", "pool_scrub_mode:often"],
    code: 1,
    json: (doc) =>
      equal(
        doc.error,
        'invalid value "often" for system property "pool_scrub_mode" (valid: off,lazy,timed)',
      ),
    none: true,
  },
  {
    name: "set-prop: a pair without value is bad syntax",
    args: ["system", "set-prop", "self_heal"],
    code: 1,
    err: 'ERROR: dmg: invalid property "self_heal" (must be key:val)\n',
    none: true,
  },
  {
    name: "set-prop: MS down",
    args: ["system", "set-prop", "self_heal:none"],
    script: (m) =>
      m.on(SET_PROP, (_r, addr) => {
        throw refused(addr);
      }),
    code: 1,
    err: `ERROR: dmg: system set-prop failed: ${REFUSED}\n`,
  },
  {
    name: "get-prop: Description (name) / Value table in name order",
    args: ["system", "get-prop"],
    script: (m) =>
      m.reply(GET_PROP, {
        properties: { self_heal: "none", daos_system: "daos_server", pool_scrub_thresh: "0" },
      }),
    code: 0,
    out: "Name                                             Value       \n" +
      "----                                             -----       \n" +
      "DAOS system name (daos_system)                   daos_server \n" +
      "Checksum scrubbing threshold (pool_scrub_thresh) 0           \n" +
      "Self-heal policy (self_heal)                     none        \n",
    sent: [GET_PROP, { keys: [] }],
  },
  {
    name: "get-prop -j: key/value/description list; named properties sent lower-case",
    args: ["-j", "system", "get-prop", "SELF_HEAL"],
    script: (m) => m.reply(GET_PROP, { properties: { self_heal: "exclude" } }),
    code: 0,
    sent: [GET_PROP, { keys: ["self_heal"] }],
    json: (doc) =>
      deepEqual(doc.response, [
        { key: "self_heal", value: "exclude", description: "Self-heal policy" },
      ]),
  },
  {
    name: "get-prop: an unknown name is refused before sending",
    args: ["system", "get-prop", "self_heal,nope"],
    code: 1,
    err: /^ERROR: dmg: unknown system property "nope" \(known: /,
    none: true,
  },
  {
    name: "rebuild start: refused until pools exist",
    args: ["system", "rebuild", "start"],
    code: 1,
    out: "",
    err: `ERROR: dmg: system rebuild start ${NO_POOLS} rebuild\n`,
    none: true,
  },
  {
    name: "rebuild stop -j: the refusal in the envelope",
    args: ["-j", "system", "rebuild", "stop"],
    code: 1,
    json: (doc) =>
      deepEqual(doc, {
        response: null,
        error: `system rebuild stop ${NO_POOLS} stop`,
        status: -1025,
      }),
    none: true,
  },
  {
    name: "self-heal eval: refused until pools exist",
    args: ["system", "self-heal", "eval"],
    code: 1,
    err: `ERROR: dmg: system self-heal eval ${NO_POOLS} evaluate\n`,
    none: true,
  },
  {
    name: "cleanup <machine>: refused until pools exist",
    args: ["system", "cleanup", "node-1", "-v"],
    code: 1,
    err: `ERROR: dmg: system cleanup ${NO_POOLS} clean up\n`,
    none: true,
  },
  {
    name: "cleanup without a machine: go-flags' missing argument",
    args: ["system", "cleanup"],
    code: 1,
    err: "ERROR: dmg: the required argument `<machine>` was not provided\n",
    none: true,
  },
  {
    name: "rebuild without a sub-command",
    args: ["system", "rebuild"],
    code: 1,
    err: "ERROR: dmg: Please specify one command of: start or stop\n",
    none: true,
  },
  {
    name: "an argument beyond the declared ones is refused",
    args: ["system", "get-attr", "a", "b"],
    code: 1,
    err: "ERROR: dmg: unexpected arguments: b\n",
    none: true,
  },
];

for (const c of CASES) {
  Deno.test(`dmg system attrs/props: ${c.name}`, async () => {
    const m = new MockInvoker();
    c.script?.(m);
    const r = await runDmg(c.args, m, testConfig([H1]));
    const where = `out=${JSON.stringify(r.out)} err=${JSON.stringify(r.err)}`;
    equal(r.code, c.code, where);
    for (const [want, got] of [[c.out, r.out], [c.err, r.err]] as const) {
      if (typeof want === "string") equal(got, want, where);
      else if (want !== undefined) match(got, want, where);
    }
    if (c.sent) {
      const [method, fields] = c.sent;
      const reqs = m.requests(method) as unknown as Record<string, unknown>[];
      equal(reqs.length, 1, `one ${method.name} request`);
      for (const [k, v] of Object.entries(fields)) deepEqual(reqs[0][k], v, `${method.name}.${k}`);
    }
    if (c.none) equal(m.calls.length, 0, `no request: ${m.calls.map((x) => x.method)}`);
    if (c.json) c.json(JSON.parse(r.out));
    for (const meth of ALL) {
      if (c.sent && meth !== c.sent[0]) equal(m.requests(meth).length, 0, meth.name);
    }
  });
}

Deno.test("argument parsers: the reference's key:val rules", () => {
  deepEqual(parseKeyValues("a:1,b: 2 "), { a: "1", b: "2" });
  deepEqual(parseKeys(" a ,b,a"), ["a", "b"]);
  deepEqual(parseKeys(undefined), []);
  for (
    const [arg, msg] of [
      ["a:1:2", 'invalid property "a:1:2" (must be key:val)'],
      [":1", "key must not be empty"],
      ["k".repeat(21) + ":1", `"${"k".repeat(21)}": key too long (21 > 20)`],
      ["k:" + "v".repeat(129), 'value of "k" too long (129 > 128)'],
    ]
  ) {
    let got = "";
    try {
      parseKeyValues(arg);
    } catch (e) {
      got = (e as Error).message;
    }
    equal(got, msg, arg);
  }
});
