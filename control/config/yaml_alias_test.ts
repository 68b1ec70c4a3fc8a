/**
 * Aliases in daos_server.yml: resolved as YAML says (the closest preceding anchor of that
 * name), from an index instead of a document walk per alias, and a config that aliases one
 * engine thousands of times is refused by count instead of validating each copy.
 */
import assert from "node:assert/strict";
import { isMap, isScalar, parseDocument } from "yaml";
import { deref } from "./yaml_reader.ts";
import { checkServerConfigText } from "./load.ts";
import { Problems } from "./problems.ts";

Deno.test("deref: an alias resolves to the closest anchor of its name before it", () => {
  const doc = parseDocument("a: &x 1\nb: *x\nc: &x 2\nd: *x\ne: &y [3]\nf: *y\n");
  const ctx = { doc, problems: new Problems("t.yml", () => ({ line: 0, col: 0 })) };
  const top = doc.contents;
  assert.ok(isMap(top));
  const val = (k: string) => {
    const pair = top.items.find((p) => isScalar(p.key) && p.key.value === k);
    const v = deref(ctx, pair?.value);
    return isScalar(v) ? v.value : v === null ? null : "node";
  };
  assert.deepEqual(["a", "b", "c", "d", "f"].map(val), [1, 1, 2, 2, "node"]);
});

Deno.test("engines: [*e, *e, ...] past 64 engines is one problem, not one validation per copy", () => {
  const n = 3000;
  const text = `name: daos_server
provider: ofi+tcp
transport_config: {allow_insecure: true}
engines: [&e {targets: 4, fabric_iface: lo, fabric_iface_port: 31416, storage: [{class: ram, scm_mount: /mnt/daos0}]}${
    ",*e".repeat(n - 1)
  }]
`;
  const ps = checkServerConfigText(text, "t.yml").problems;
  const many = ps.filter((p) =>
    /engines lists 3000 engines, more than the 64 supported/.test(p.message)
  );
  assert.equal(many.length, 1, JSON.stringify(ps.slice(0, 3)));
  assert.equal(many[0].line, 4);
  // Only the first 64 copies were validated (each repeats the shared scm_mount and fabric).
  assert.ok(ps.length < 64 * 4, `${ps.length} problems`);
});

Deno.test("nesting thousands of levels deep is one located problem naming it", () => {
  const ps =
    checkServerConfigText(`name: x\nengines: ${"[".repeat(50_000)}${"]".repeat(50_000)}\n`, "t.yml")
      .problems;
  assert.equal(ps.length, 1, JSON.stringify(ps));
  assert.match(ps[0].message, /^invalid YAML: nesting too deep/);
  assert.equal(ps[0].line, 2);
});
