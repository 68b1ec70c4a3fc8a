import { deepEqual as assertEquals, ok } from "node:assert/strict";
import {
  formatPoolProp,
  labelIsValid,
  parsePoolProps,
  poolPropByName,
  poolPropByNumber,
  poolPropDefaults,
  PoolPropError,
  poolPropJsonValue,
  poolPropNames,
  PoolPropNumber,
  poolProps,
} from "./pool_props.ts";

/** Runs fn, which must throw a PoolPropError whose message contains msg; returns it. */
function assertThrows(fn: () => unknown, _cls: typeof PoolPropError, msg = ""): Error {
  try {
    fn();
  } catch (e) {
    ok(e instanceof PoolPropError, `expected PoolPropError, got ${e}`);
    ok(e.message.includes(msg), `message "${e.message}" lacks "${msg}"`);
    return e;
  }
  throw new Error(`expected a PoolPropError containing "${msg}", nothing was thrown`);
}

Deno.test("pool props: numbers follow daos_prop.h and names are unique", () => {
  assertEquals(poolPropByName("label").number, 1);
  assertEquals(poolPropByName("space_rb").number, 3);
  assertEquals(poolPropByName("self_heal").number, 4);
  assertEquals(poolPropByName("reclaim").number, 5);
  assertEquals(poolPropByName("svc_list").number, 8);
  assertEquals(poolPropByName("ec_cell_sz").number, 9);
  assertEquals(poolPropByName("policy").number, 10);
  assertEquals(poolPropByName("rd_fac").number, 11);
  assertEquals(poolPropByName("svc_rf").number, 19);
  assertEquals(poolPropByName("checkpoint_thresh").number, 24);
  assertEquals(poolPropByNumber(PoolPropNumber.SCRUB_MODE)?.name, "scrub");
  assertEquals(poolPropByNumber(999), undefined);
  const names = poolProps().map((d) => d.name);
  assertEquals(new Set(names).size, names.length);
  const nums = poolProps().map((d) => d.number);
  assertEquals(new Set(nums).size, nums.length);
  assertEquals(poolPropNames(), [...names].sort());
});

Deno.test("pool props: unknown name names the input and the valid names", () => {
  const e = assertThrows(() => poolPropByName("nope"), PoolPropError);
  assertEquals(e.message.startsWith(`unknown property "nope" (valid: checkpoint,`), true);
  // The reference's deprecated alias.
  assertEquals(poolPropByName("rf").name, "rd_fac");
});

Deno.test("pool props: parse and format enum, numeric and string values", () => {
  const s = parsePoolProps("reclaim:time,self_heal:rebuild,space_rb:25%,ec_cell_sz:128KiB", false);
  assertEquals(s.map((x) => [x.def.name, x.value]), [
    ["reclaim", 4],
    ["self_heal", 2],
    ["space_rb", 25],
    ["ec_cell_sz", 131072],
  ]);
  assertEquals(formatPoolProp(PoolPropNumber.RECLAIM, 4), "time");
  assertEquals(formatPoolProp(PoolPropNumber.SPACE_RB, 25), "25%");
  assertEquals(formatPoolProp(PoolPropNumber.EC_CELL_SZ, 65536), "64 KiB");
  // self_heal prints the exclude bit first, as the reference does.
  assertEquals(formatPoolProp(PoolPropNumber.SELF_HEAL, 3), "exclude");
  assertEquals(formatPoolProp(PoolPropNumber.SELF_HEAL, 2), "rebuild");
  assertEquals(formatPoolProp(PoolPropNumber.SELF_HEAL, 0), "unknown");
  assertEquals(formatPoolProp(PoolPropNumber.UPGRADE_STATUS, 1), "in progress");
  // Enum names are case-insensitive.
  assertEquals(parsePoolProps("scrub:TIMED", false)[0].value, 2);
  assertEquals(parsePoolProps("label:tank", false)[0].value, "tank");
});

Deno.test("pool props: bad values and edges", () => {
  const bad: [string, string][] = [
    ["space_rb:101", "invalid space_rb value 101 (valid values: 0-100)"],
    ["space_rb:-1", "invalid space_rb value -1 (valid values: 0-100)"],
    ["rd_fac:5", "invalid redun fac value 5 (valid values: 0-4)"],
    ["svc_rf:x", "invalid service redundancy factor value x (valid values: 0-4)"],
    ["ec_cell_sz:1KiB", `invalid EC Cell size "1KiB"`],
    ["ec_cell_sz:2MiB", `invalid EC Cell size "2MiB"`],
    ["ec_cell_sz:4100", `invalid EC Cell size "4100"`],
    ["ec_pda:0", `invalid ec_pda value "0"`],
    ["reclaim:sometimes", `invalid value "sometimes" for reclaim (valid: disabled,lazy,time)`],
    ["label:a b", `invalid label "a b"`],
    ["policy:type=fast", `invalid policy string "type=fast"`],
    ["svc_list:0,1", "cannot set pool service replica list"],
    ["global_version:2", "global_version is read-only"],
    ["upgrade_status:completed", "upgrade_status is read-only"],
    ["perf_domain:group", "can't set perf_domain on existing pool."],
    ["reclaim", `invalid property "reclaim" (expected name:value)`],
    ["reclaim:", `invalid property "reclaim:" (expected name:value)`],
    ["", `no properties in ""`],
  ];
  for (const [text, msg] of bad) {
    assertThrows(() => parsePoolProps(text, false), PoolPropError, msg);
  }
  // Boundaries that are accepted.
  assertEquals(parsePoolProps("space_rb:100", false)[0].value, 100);
  assertEquals(parsePoolProps("rd_fac:4", false)[0].value, 4);
  assertEquals(parsePoolProps("ec_cell_sz:4KiB", false)[0].value, 4096);
  assertEquals(parsePoolProps("ec_cell_sz:1MiB", false)[0].value, 1 << 20);
  assertEquals(parsePoolProps("rp_pda:4294967295", false)[0].value, 4294967295);
  assertThrows(() => parsePoolProps("rp_pda:4294967296", false), PoolPropError);
  // perf_domain is accepted at create time only.
  assertEquals(parsePoolProps("perf_domain:group", true)[0].value, 3);
});

Deno.test("pool props: labels follow daos_label_is_valid", () => {
  assertEquals(labelIsValid("tank"), true);
  assertEquals(labelIsValid("a.b:c_d-e"), true);
  assertEquals(labelIsValid("x".repeat(127)), true);
  assertEquals(labelIsValid("x".repeat(128)), false);
  assertEquals(labelIsValid(""), false);
  assertEquals(labelIsValid("alfalfa!"), false);
  assertEquals(labelIsValid("12345678-1234-1234-1234-123456789abc"), false);
  assertEquals(labelIsValid("12345678-1234-1234-1234-123456789abcd"), true);
});

Deno.test("pool props: JSON values and defaults", () => {
  assertEquals(poolPropJsonValue(PoolPropNumber.SVC_LIST, "[0-2,5]"), [0, 1, 2, 5]);
  assertEquals(poolPropJsonValue(PoolPropNumber.SPACE_RB, 10), 10);
  assertEquals(poolPropJsonValue(PoolPropNumber.RECLAIM, 1), "lazy");
  assertEquals(poolPropJsonValue(PoolPropNumber.LABEL, "tank"), "tank");
  const d = poolPropDefaults();
  assertEquals(d.get(PoolPropNumber.SELF_HEAL), 3);
  assertEquals(d.get(PoolPropNumber.RECLAIM), 1);
  assertEquals(d.get(PoolPropNumber.EC_CELL_SZ), 65536);
  assertEquals(d.get(PoolPropNumber.SVC_REDUN_FAC), 2);
  assertEquals(d.get(PoolPropNumber.SCRUB_FREQ), 604800);
  assertEquals(d.get(PoolPropNumber.CHECKPOINT_MODE), 1);
  assertEquals(d.has(PoolPropNumber.SVC_LIST), false);
  assertEquals(d.has(PoolPropNumber.LABEL), false);
});
