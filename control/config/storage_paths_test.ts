/**
 * Config rules for storage paths and value ranges (issue 15 items 3 and 12): system paths in
 * scm_mount / file bdev_list, control characters in path keys, real allowed ranges in messages.
 */
import assert from "node:assert/strict";
import { checkServerConfigText } from "./load.ts";
import { type ConfigProblem, formatProblem } from "./problems.ts";
import { FaultCode } from "../lib/fault.ts";
import { normalizePath, systemPathReason } from "../lib/system_paths.ts";
import { engineYaml, fileTierYaml, ramTierYaml } from "../../tests/util/config_fixtures.ts";

function text(o: { scm?: string; bdevs?: string[]; top?: string; engine?: string } = {}): string {
  return `name: daos_server
provider: ofi+tcp
transport_config:
  allow_insecure: true
${o.top ?? ""}engines:
${
    engineYaml(
      ramTierYaml(o.scm ?? "/mnt/daos0") + fileTierYaml(o.bdevs ?? ["/var/daos/bdev0"]),
      { targets: 4, extra: o.engine },
    )
  }`;
}

function problems(t: string): ConfigProblem[] {
  return checkServerConfigText(t, "t.yml").problems;
}

function lines(t: string): string[] {
  return problems(t).map(formatProblem);
}

Deno.test("the base config is valid", () => {
  assert.deepEqual(lines(text()), []);
});

Deno.test("scm_mount on a system path is refused: /, /etc, /usr/lib/x, /tmp, //etc/.. ", () => {
  for (const p of ["/", "/etc", "/usr/lib/x", "/tmp", "/var/lib", "//etc/..", "/dev/shm"]) {
    const ps = problems(text({ scm: p }));
    assert.equal(ps.length, 1, `${p}: ${JSON.stringify(ps)}`);
    assert.equal(ps[0].code, FaultCode.StoragePathAccessDenied);
    assert.match(ps[0].message, /scm_mount: ".*" is a system path/);
    assert.match(ps[0].resolution, /\/mnt\/daos0/);
    assert.ok(ps[0].line > 0, "located at file:line:col");
  }
  for (const ok of ["/mnt/daos0", "/tmp/daos/scm0", "/var/lib/daos/scm", "/dev/shm/daos"]) {
    assert.deepEqual(lines(text({ scm: ok })), [], ok);
  }
});

Deno.test("file bdevs on system paths are refused: /etc/passwd, /usr/x, /boot/f, /dev/sda", () => {
  for (const p of ["/etc/passwd", "/usr/x", "/boot/f", "/dev/sda", "/proc/1/mem", "/sys/x"]) {
    const ps = problems(text({ bdevs: [p] }));
    assert.equal(ps.length, 1, `${p}: ${JSON.stringify(ps)}`);
    assert.match(
      ps[0].message,
      /bdev_list: file ".*" is a system path .*format would overwrite it/,
    );
    assert.match(ps[0].resolution, /dedicated directory/);
  }
});

Deno.test("a NUL or other control character in a path key is refused with file:line:col", () => {
  const nul = lines(text({ top: `fault_path: "/rack0\\0/h"\n` }));
  assert.equal(nul.length, 1, nul.join("\n"));
  assert.match(nul[0], /^t\.yml:5:13: fault_path: path .* contains the control character \\x00/);
  const cases: [string, RegExp][] = [
    [text({ scm: `"/mnt/da\\nos"` }), /scm_mount: path .* control character \\x0a/],
    [text({ bdevs: [`"/var/b\\x01"`] }), /bdev_list\[0\]: path .* control character \\x01/],
    [text({ top: `socket_dir: "/run/d\\x7f"\n` }), /socket_dir: .*\\x7f/],
    [text({ engine: `    log_file: "/tmp/l\\tog"\n` }), /log_file: .*\\x09/],
  ];
  for (const [t, re] of cases) {
    const ps = lines(t);
    assert.ok(ps.length >= 1 && ps.every((p) => /^t\.yml:\d+:\d+: /.test(p)), ps.join("\n"));
    assert.ok(ps.some((p) => re.test(p)), `${re}: ${ps.join("\n")}`);
  }
});

Deno.test("fuzz: a control character anywhere in any path value is always refused", () => {
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 48271) % 0x7fffffff) % n;
  for (let i = 0; i < 60; i++) {
    const c = rnd(33) === 32 ? 0x7f : rnd(32);
    const esc = `\\x${c.toString(16).padStart(2, "0")}`;
    const base = "/var/daos/dir";
    const at = 1 + rnd(base.length - 1);
    const v = `"${base.slice(0, at)}${esc}${base.slice(at)}"`;
    const variants = [
      text({ scm: v }),
      text({ bdevs: [v] }),
      text({ top: `fault_path: ${v}\n` }),
      text({ top: `socket_dir: ${v}\n` }),
    ];
    for (const t of variants) {
      const ps = lines(t);
      assert.ok(ps.some((p) => p.includes(`control character ${esc}`)), `${v}: ${ps.join("\n")}`);
    }
  }
});

Deno.test("range messages show the real allowed range (bdev_size, system_ram_reserved, targets)", () => {
  const all = (t: string) => {
    const ps = problems(t);
    for (const p of ps) {
      assert.doesNotMatch(p.message + p.resolution, /9007199254740991/, p.message);
    }
    return ps;
  };
  for (const v of ["-1", "0", "-9999999999", "1073741825"]) {
    const ps = all(text().replace("bdev_size: 1", `bdev_size: ${v}`));
    assert.equal(ps.length, 1, JSON.stringify(ps));
    assert.match(
      ps[0].message,
      /bdev_size: value .* is out of range \(must be between 1 and 1073741824\)/,
    );
  }
  for (const [v, code] of [["0", 734], ["-5", 734], ["1048577", 701]] as const) {
    const ps = all(text({ top: `system_ram_reserved: ${v}\n` }));
    assert.equal(ps.length, 1, JSON.stringify(ps));
    assert.equal(ps[0].code, code);
    assert.match(
      ps[0].message,
      /system_ram_reserved: value .* is out of range \(must be between 1 and 1048576\)/,
    );
  }
  for (const v of ["0", "-3", "1025"]) {
    const ps = all(text().replace("targets: 4", `targets: ${v}`));
    assert.equal(ps.length, 1, JSON.stringify(ps));
    assert.match(ps[0].message, /targets: value .* is out of range \(must be between 1 and 1024\)/);
  }
  // Absent targets: the single "must be nonzero" problem.
  const none = all(text().replace("  - targets: 4\n", "  -\n"));
  assert.equal(none.length, 1, JSON.stringify(none));
  assert.match(none[0].message, /target count must be nonzero/);
  // Unbounded sides are left out instead of printing the safe-integer limit.
  const delay = all(text({ top: "engine_auto_restart_min_delay: 99999999999\n" }));
  assert.match(delay[0].message, /out of range \(must be at most 2147483647\)/);
});

Deno.test("system path rules: normalisation and the /dev/shm exception", () => {
  assert.equal(normalizePath("//etc/../usr/./lib/"), "/usr/lib");
  assert.equal(normalizePath("/.."), "/");
  assert.equal(systemPathReason("/etc"), "/etc is a system directory");
  assert.equal(systemPathReason("/etcetera"), null);
  assert.equal(systemPathReason("/dev/shm/x"), null);
  assert.match(systemPathReason("/dev/shm") ?? "", /system directory/);
  assert.match(systemPathReason("/usr/../etc/x") ?? "", /inside the system directory \/etc/);
});

Deno.test("control_metadata.path with a device is refused on a system path; without one allowed", () => {
  const cm = (path: string, device: string) =>
    problems(
      text({ top: `control_metadata:\n  path: ${path}\n${device ? `  device: ${device}\n` : ""}` }),
    ).filter((p) => p.code === FaultCode.StoragePathAccessDenied);
  const ps = cm("/etc", "/dev/loop7");
  assert.equal(ps.length, 1, JSON.stringify(ps));
  assert.match(ps[0].message, /control_metadata\.path: "\/etc" is a system path .*mounted over it/);
  assert.match(ps[0].resolution, /\/var\/daos\/config/);
  assert.deepEqual(cm("/var/daos/config", "/dev/loop7"), []);
  assert.deepEqual(cm("/var", ""), []);
});
