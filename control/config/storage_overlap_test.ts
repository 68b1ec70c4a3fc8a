/**
 * Storage areas that share a path or nest (two engines on one tmpfs, a bdev file inside a
 * tmpfs, superblocks inside an SCM mount) are config errors: format or erase of one would
 * destroy the other. Compared normalised, not only as identical strings (DAOS's rule).
 */
import assert from "node:assert/strict";
import { checkServerConfigText } from "./load.ts";
import { FaultCode } from "../lib/fault.ts";
import {
  engineYaml,
  fileTierYaml,
  LOCAL_SERVER_HEAD,
  ramTierYaml,
} from "../../tests/util/config_fixtures.ts";

type Eng = { scm: string; bdevs?: string[]; tiers?: string };

function text(engines: Eng[], top = ""): string {
  return LOCAL_SERVER_HEAD.replace("engines:\n", `${top}engines:\n`) +
    engines.map((e, i) =>
      engineYaml(ramTierYaml(e.scm) + (e.tiers ?? fileTierYaml(e.bdevs ?? [])), {
        port: 31416 + i * 100,
        targets: 4,
        extra: `    log_file: /tmp/e${i}.log\n`,
      })
    ).join("");
}

function problems(
  t: string,
): { code: number; message: string; line: number; resolution: string }[] {
  return checkServerConfigText(t, "t.yml").problems;
}

/** Two engines, each a ram tier at `[0]` and one file bdev `[1]`. */
const two = (e0: [string, string], e1: [string, string]) =>
  text([{ scm: e0[0], bdevs: [e0[1]] }, { scm: e1[0], bdevs: [e1[1]] }]);

const MD = (bdev: string) => fileTierYaml([bdev], 1, ["wal", "meta", "data"]);
const CM = (path: string) => `control_metadata:\n  path: ${path}\n`;

Deno.test("storage overlaps: each variant is one problem naming both areas", () => {
  const cases: [string, string, number, RegExp][] = [
    [
      "scm_mount with a trailing /",
      two(["/mnt/daos0", "/var/daos/b0"], ["/mnt/daos0/", "/var/daos/b1"]),
      FaultCode.ServerConfigDuplicateScmMount,
      /scm_mount "\/mnt\/daos0\/" of engine 1 \(\/mnt\/daos0\) is the same path as scm_mount "\/mnt\/daos0" of engine 0/,
    ],
    [
      "scm_mount with //",
      two(["//mnt/daos0", "/var/daos/b0"], ["/mnt//daos0", "/var/daos/b1"]),
      FaultCode.ServerConfigDuplicateScmMount,
      /scm_mount "\/mnt\/\/daos0" of engine 1 \(\/mnt\/daos0\) is the same path as scm_mount "\/\/mnt\/daos0" of engine 0 \(\/mnt\/daos0\)/,
    ],
    [
      "scm_mount nested in another",
      two(["/mnt/daos0", "/var/daos/b0"], ["/mnt/daos0/e1", "/var/daos/b1"]),
      FaultCode.ServerConfigDuplicateScmMount,
      /scm_mount "\/mnt\/daos0\/e1" of engine 1 lies inside scm_mount "\/mnt\/daos0" of engine 0/,
    ],
    [
      "outer scm_mount configured second",
      two(["/mnt/daos0/e1", "/var/daos/b0"], ["/mnt/daos0", "/var/daos/b1"]),
      FaultCode.ServerConfigDuplicateScmMount,
      /scm_mount "\/mnt\/daos0\/e1" of engine 0 lies inside scm_mount "\/mnt\/daos0" of engine 1/,
    ],
    [
      "bdev file inside another engine's scm_mount",
      two(["/mnt/daos0", "/var/daos/b0"], ["/mnt/daos1", "/mnt/daos0/b1"]),
      FaultCode.ServerConfigOverlappingBdevDeviceList,
      /bdev_list "\/mnt\/daos0\/b1" of engine 1 lies inside scm_mount "\/mnt\/daos0" of engine 0/,
    ],
    [
      "bdev file inside its own scm_mount",
      text([{ scm: "/mnt/daos0", bdevs: ["/mnt/daos0/b0"] }]),
      FaultCode.ServerConfigOverlappingBdevDeviceList,
      /bdev_list "\/mnt\/daos0\/b0" of engine 0 lies inside scm_mount "\/mnt\/daos0" of engine 0/,
    ],
    [
      "bdev file equal to a scm_mount",
      two(["/mnt/daos0", "/var/daos/b0"], ["/mnt/daos1", "/mnt/daos0"]),
      FaultCode.ServerConfigOverlappingBdevDeviceList,
      /bdev_list "\/mnt\/daos0" of engine 1 is the same path as scm_mount/,
    ],
    [
      "one bdev file in two engines, spelt differently",
      two(["/mnt/daos0", "/var/daos/b0"], ["/mnt/daos1", "/var/daos//b0"]),
      FaultCode.ServerConfigOverlappingBdevDeviceList,
      /bdev_list "\/var\/daos\/\/b0" of engine 1 \(\/var\/daos\/b0\) is the same file as bdev_list "\/var\/daos\/b0" of engine 0; formatting one truncates the other/,
    ],
    [
      "one bdev file twice in one tier, spelt differently",
      text([{ scm: "/mnt/daos0", bdevs: ["/var/daos/b0", "/var//daos/b0"] }]),
      FaultCode.ServerConfigOverlappingBdevDeviceList,
      /bdev_list "\/var\/\/daos\/b0" of engine 0 \(\/var\/daos\/b0\) is the same file/,
    ],
    [
      "one bdev file in two tiers of one engine (MD-on-SSD)",
      text(
        [{
          scm: "/mnt/daos0",
          tiers: fileTierYaml(["/var/daos/b0"], 1, ["wal"]) +
            fileTierYaml(["/var/daos/b0"], 1, ["meta", "data"]),
        }],
        CM("/var/daos/cfg"),
      ),
      FaultCode.ServerConfigOverlappingBdevDeviceList,
      /bdev_list "\/var\/daos\/b0" of engine 0 is the same file as bdev_list "\/var\/daos\/b0" of engine 0/,
    ],
    [
      "control_metadata.path inside a scm_mount",
      text([{ scm: "/mnt/daos0", tiers: MD("/var/daos/b0") }], CM("/mnt/daos0/cfg")),
      FaultCode.ServerConfigDuplicateScmMount,
      /control_metadata "\/mnt\/daos0\/cfg\/daos_control" lies inside scm_mount "\/mnt\/daos0" of engine 0/,
    ],
    [
      "control_metadata.path equal to a scm_mount",
      text([{ scm: "/mnt/daos0", tiers: MD("/var/daos/b0") }], CM("/mnt/daos0")),
      FaultCode.ServerConfigDuplicateScmMount,
      /control_metadata "\/mnt\/daos0\/daos_control" lies inside scm_mount "\/mnt\/daos0"/,
    ],
    [
      "bdev file inside the control metadata",
      text(
        [{ scm: "/mnt/daos0", tiers: MD("/var/daos/cfg/daos_control/b0") }],
        CM("/var/daos/cfg"),
      ),
      FaultCode.ServerConfigOverlappingBdevDeviceList,
      /bdev_list .* lies inside control_metadata "\/var\/daos\/cfg\/daos_control"; formatting the control metadata destroys it/,
    ],
    [
      "a scm_mount under a control_metadata device's mount point",
      text(
        [{ scm: "/var/daos/cfg/scm", tiers: MD("/var/daos/b0") }],
        `control_metadata:\n  path: /var/daos/cfg\n  device: /dev/loop7\n`,
      ),
      FaultCode.ServerConfigDuplicateScmMount,
      /scm_mount "\/var\/daos\/cfg\/scm" of engine 0 lies inside control_metadata "\/var\/daos\/cfg"/,
    ],
  ];
  for (const [name, t, code, re] of cases) {
    const ps = problems(t);
    assert.equal(ps.length, 1, `${name}: ${JSON.stringify(ps)}`);
    assert.equal(ps[0].code, code, name);
    assert.match(ps[0].message, re, name);
    assert.ok(ps[0].line > 0, `${name}: located at file:line`);
  }
});

Deno.test("storage overlaps: siblings and a scm_mount beside the control metadata are fine", () => {
  const ok = [
    two(["/mnt/daos0", "/var/daos/b0"], ["/mnt/daos01", "/var/daos/b00"]),
    text([{ scm: "/var/daos/cfg/scm", tiers: MD("/var/daos/cfg/b0") }], CM("/var/daos/cfg")),
  ];
  for (const t of ok) assert.deepEqual(problems(t), []);
  // The same string twice in one tier keeps the schema's single "duplicate" problem.
  const dup = problems(text([{ scm: "/mnt/daos0", bdevs: ["/var/daos/b0", "/var/daos/b0"] }]));
  assert.equal(dup.length, 1, JSON.stringify(dup));
  assert.match(dup[0].message, /bdev_list contains duplicate/);
});

Deno.test("storage paths with . or .. components are refused (after a symlink .. lands elsewhere)", () => {
  const cases: [string, RegExp][] = [
    [
      text([{ scm: "/mnt/link/../daos0", bdevs: ["/var/daos/b0"] }]),
      /scm_mount: "\/mnt\/link\/..\/daos0" has "." or ".." components/,
    ],
    [
      text([{ scm: "/mnt/daos0", bdevs: ["/var/daos/x/../b0"] }]),
      /bdev_list: file "\/var\/daos\/x\/..\/b0" has "." or ".." components/,
    ],
    [
      text([{ scm: "/mnt/daos0", tiers: MD("/var/daos/b0") }], CM("/var/daos/./cfg")),
      /control_metadata\.path: "\/var\/daos\/.\/cfg" has "." or ".." components/,
    ],
  ];
  for (const [t, re] of cases) {
    const ps = problems(t);
    assert.equal(ps.length, 1, JSON.stringify(ps));
    assert.match(ps[0].message, re);
    assert.match(ps[0].resolution, /without \. or \.\. components/);
  }
});

Deno.test("a relative control_metadata.path is refused", () => {
  const ps = problems(text([{ scm: "/mnt/daos0", tiers: MD("/var/daos/b0") }], CM("var/cfg")));
  assert.equal(ps.length, 1, JSON.stringify(ps));
  assert.match(ps[0].message, /control_metadata\.path: "var\/cfg" is not an absolute path/);
});
