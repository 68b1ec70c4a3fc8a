/**
 * Property tests: mutated valid configs (wrong types, missing/unknown keys, bad YAML, huge
 * values, truncation) always end in located problems, never an exception or a hang.
 */
import assert from "node:assert/strict";
import { checkServerConfigText } from "./load.ts";
import { prng as rng } from "../../tests/util/prng.ts";

const dir = new URL("./testdata/", import.meta.url).pathname;
const SEEDS = [
  "reference_pmem_verbs.yml",
  "reference_mdonssd_tcp.yml",
  "reference_file_emulated.yml",
]
  .map((f) => Deno.readTextFileSync(dir + f));

const BAD_VALUES = [
  "[1, 2]",
  "{a: 1}",
  "99999999999999999999999",
  "-1",
  "notanumber",
  "1.5",
  "~",
  "''",
  '"\\u0000"',
  "*undefined_alias",
  "!!binary AAAA",
  "[",
];

/** Replaces the value of one `key: value` line; returns null if the line has none. */
function mutateValue(lines: string[], r: () => number): { text: string; key: string } | null {
  const idx = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\s*-?\s*[a-z_]+: \S/.test(l));
  if (idx.length === 0) return null;
  const [line, i] = idx[Math.floor(r() * idx.length)];
  const key = /([a-z_]+): /.exec(line)![1];
  const v = BAD_VALUES[Math.floor(r() * BAD_VALUES.length)];
  const out = [...lines];
  out[i] = line.replace(/: .*$/, `: ${v}`);
  return { text: out.join("\n"), key };
}

function assertLocated(text: string, label: string): number {
  const r = checkServerConfigText(text, "f.yml");
  for (const p of r.problems) {
    assert.ok(p.line > 0 && p.col > 0, `${label}: problem without a place: ${p.message}`);
    assert.ok(p.message.length > 0);
  }
  return r.problems.length;
}

Deno.test("fuzz: random mutations never throw and every problem names its place", () => {
  const r = rng(4242);
  for (let n = 0; n < 600; n++) {
    const seed = SEEDS[n % SEEDS.length];
    const lines = seed.split("\n");
    let text = seed;
    switch (n % 6) {
      case 0: {
        const m = mutateValue(lines, r);
        if (m) text = m.text;
        break;
      }
      case 1: { // delete a line (missing key)
        const i = Math.floor(r() * lines.length);
        text = [...lines.slice(0, i), ...lines.slice(i + 1)].join("\n");
        break;
      }
      case 2: // truncate anywhere
        text = seed.slice(0, Math.floor(r() * seed.length));
        break;
      case 3: { // swap indentation of a line
        const i = Math.floor(r() * lines.length);
        const l = [...lines];
        l[i] = (r() < 0.5 ? "   " : "") + l[i].trimStart();
        text = l.join("\n");
        break;
      }
      case 4: { // random bytes inserted
        const at = Math.floor(r() * seed.length);
        const junk = String.fromCharCode(...Array.from({ length: 3 }, () => Math.floor(r() * 128)));
        text = seed.slice(0, at) + junk + seed.slice(at);
        break;
      }
      case 5: { // duplicate a line (duplicate key or list entry)
        const i = Math.floor(r() * lines.length);
        text = [...lines.slice(0, i + 1), lines[i], ...lines.slice(i + 1)].join("\n");
        break;
      }
    }
    assertLocated(text, `case ${n}`);
  }
});

Deno.test("fuzz: typed keys given wrong types are always reported", () => {
  const r = rng(7);
  const typed = ["targets", "port", "nr_xs_helpers", "fabric_iface_port", "scm_size", "bdev_size"];
  let checked = 0;
  for (let n = 0; n < 200; n++) {
    const seed = SEEDS[n % SEEDS.length];
    const lines = seed.split("\n");
    const cands = lines.map((l, i) => [l, i] as const)
      .filter(([l]) => typed.some((k) => new RegExp(`^\\s*-?\\s*${k}: \\d+$`).test(l)));
    if (cands.length === 0) continue;
    const [line, i] = cands[Math.floor(r() * cands.length)];
    const bad = ["[1]", "{x: 1}", "abc", "1.5", "99999999999999999999"][n % 5];
    const l = [...lines];
    l[i] = line.replace(/: \d+$/, `: ${bad}`);
    assert.ok(assertLocated(l.join("\n"), `typed ${n}`) > 0, `no problem for ${l[i]}`);
    checked++;
  }
  assert.ok(checked > 100);
});

Deno.test("fuzz: unknown keys anywhere are errors", () => {
  for (const seed of SEEDS) {
    const lines = seed.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const m = /^(\s*)(-\s+)?[a-z_]+: \S/.exec(lines[i]);
      if (!m) continue;
      const indent = m[1] + (m[2] ? " ".repeat(m[2].length) : "");
      const l = [...lines.slice(0, i + 1), `${indent}zz_unknown: 1`, ...lines.slice(i + 1)];
      const res = checkServerConfigText(l.join("\n"), "f.yml");
      assert.ok(
        res.problems.some((p) => /unknown key ".*zz_unknown"/.test(p.message) && p.line === i + 2),
        `line ${i + 2}: ${JSON.stringify(res.problems.map((p) => p.message))}`,
      );
    }
  }
});

Deno.test("alias bombs, huge files, non-map documents end in errors", () => {
  let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (let i = 0; i < 12; i++) {
    bomb += `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${
      Array(10).fill("*" + String.fromCharCode(97 + i)).join(", ")
    }]\n`;
  }
  assert.ok(assertLocated(bomb, "bomb") > 0);
  // Inside mgmt_svc_db the bomb is not expanded either: its keys are unknown there, one
  // located problem per key (2 + the bomb's 13), no blow-up.
  // (trimEnd: a trailing "  z" line made this a plain YAML syntax error, and `>= 0` hid it.)
  const bomb2 = "mgmt_svc_db:\n  extra: &x [1]\n  more: *x\n" +
    bomb.trimEnd().replace(/^/gm, "  z");
  assert.equal(assertLocated(bomb2, "bomb2"), 15);
  assert.ok(
    checkServerConfigText(bomb2, "bomb2").problems.every((p) =>
      /^unknown key "mgmt_svc_db\./.test(p.message)
    ),
  );
  assert.equal(checkServerConfigText("x".repeat(2 << 20), "f.yml").problems.length, 1);
  assert.ok(assertLocated("- a\n- b\n", "list") > 0);
  assert.equal(assertLocated("", "empty"), 0); // empty file = all defaults, discovery mode
});
