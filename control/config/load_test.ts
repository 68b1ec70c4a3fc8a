import assert from "node:assert/strict";
import { isFault } from "../lib/fault.ts";
import { checkServerConfigText, loadServerConfig } from "./load.ts";
import { formatProblem } from "./problems.ts";
import { engineYaml, fileTierYaml, ramTierYaml } from "../../tests/util/config_fixtures.ts";

const dir = new URL("./testdata/", import.meta.url).pathname;

const MIN = `name: daos_server
provider: ofi+tcp
transport_config:
  allow_insecure: true
engines:
${engineYaml(ramTierYaml("/mnt/daos0") + fileTierYaml(["/tmp/bdev0"]), { targets: 4 })}`;

function problems(text: string): string[] {
  return checkServerConfigText(text, "t.yml").problems.map(formatProblem);
}

Deno.test("reference-style configs (PMem, verbs, NVMe, MD-on-SSD) pass offline validation", async () => {
  for await (const f of Deno.readDir(dir)) {
    if (!f.name.startsWith("reference_")) continue;
    const cfg = await loadServerConfig(dir + f.name);
    assert(cfg.engines.length > 0, f.name);
  }
});

Deno.test("defaults are applied and top-level fabric is inherited", () => {
  const { config, problems } = checkServerConfigText(MIN, "t.yml");
  assert.deepEqual(problems, []);
  assert(config);
  assert.deepEqual(config.port, 10001);
  assert.deepEqual(config.socketDir, "/var/run/daos_server");
  assert.deepEqual(config.mgmtSvcReplicas, ["localhost:10001"]);
  assert.deepEqual(config.engines[0].fabric.provider, "ofi+tcp");
  assert.deepEqual(config.engines[0].scm?.scmSize, 4);
  assert.deepEqual(config.engines[0].bdevs[0].bdevSize, 1);
  assert.deepEqual(config.engineAutoRestartMinDelay, 300);
});

Deno.test("unknown key is reported at its line and column", () => {
  const p = problems(MIN.replace("  - targets: 4", "  - targets: 4\n    tragets: 5"));
  assert.deepEqual(p.length, 1);
  assert.match(p[0], /^t\.yml:7:5: unknown key "engines\[0\]\.tragets"/);
});

Deno.test("every problem is reported, not only the first", () => {
  const bad = MIN.replace("targets: 4", "targets: four").replace("bdev_size: 1", "bdev_size: 0")
    .replace("name: daos_server", "name: a_name_that_is_far_too_long");
  const p = problems(bad);
  assert(p.some((x) => /t\.yml:1:7: invalid system name/.test(x)), p.join("\n"));
  assert(
    p.some((x) => /t\.yml:6:14: engines\[0\]\.targets: expected an integer/.test(x)),
    p.join("\n"),
  );
  // bdev_size: 0 is reported once, with the real allowed range of a file bdev.
  assert(
    p.some((x) =>
      /bdev_size: value 0 is out of range \(must be between 1 and 1073741824\)/.test(x)
    ),
    p.join("\n"),
  );
  assert(!p.some((x) => /requires non-zero bdev_size/.test(x)), p.join("\n"));
});

Deno.test("malloc class is rejected with a pointer to class file", () => {
  const { problems: p } = checkServerConfigText(
    MIN.replace("class: file", "class: malloc"),
    "t.yml",
  );
  assert.deepEqual(p.length, 1);
  assert.match(p[0].message, /unsupported storage class "malloc"/);
  assert.match(p[0].resolution, /class file/);
});

Deno.test("access_points together with mgmt_svc_replicas is an error", () => {
  const p = problems(`mgmt_svc_replicas: [a]\naccess_points: [a]\n`);
  assert.deepEqual(p, [
    "t.yml:2:16: access_points is deprecated; please use mgmt_svc_replicas instead",
  ]);
});

Deno.test("loadServerConfig throws a Fault naming file:line:col", async () => {
  const tmp = await Deno.makeTempFile({ suffix: ".yml" });
  try {
    await Deno.writeTextFile(tmp, MIN + "bogus: 1\n");
    const e = await loadServerConfig(tmp).then(() => null, (err: unknown) => err);
    assert(isFault(e), `expected a Fault, got ${e}`);
    assert.deepEqual(e.code, 701);
    assert(e.description.includes(`${tmp}:16:1: unknown key "bogus"`), e.description);
  } finally {
    await Deno.remove(tmp);
  }
});

Deno.test("removed keys get a resolution naming their replacement", () => {
  const { problems: p } = checkServerConfigText(`servers: []\nenable_vmd: true\n`, "t.yml");
  assert.equal(p.length, 2);
  assert.match(p[0].resolution, /renamed "engines"/);
  assert.match(p[1].resolution, /disable_vmd/);
});

Deno.test("engine env fix-up rules: PMEMOBJ_CONF, ABT stack size, SRX agreement", () => {
  const env = (vars: string) =>
    MIN.replace("  - targets: 4", `  - targets: 4\n    env_vars: [${vars}]`);
  assert.match(problems(env("PMEMOBJ_CONF=sds.at_create=1"))[0], /sds\.at_create=1 is not allowed/);
  const srx = env("FI_OFI_RXM_USE_SRX=1").replace(
    "provider: ofi+tcp",
    "provider: ofi+tcp\ndisable_srx: true",
  );
  assert.match(problems(srx)[0], /FI_OFI_RXM_USE_SRX=1 conflicts with disable_srx: true/);
  assert.deepEqual(problems(env("FI_OFI_RXM_USE_SRX=1")), []);
  const ucx = env("ABT_THREAD_STACKSIZE=16384").replace("ofi+tcp", "ucx+dc_x");
  assert.match(problems(ucx)[0], /ABT_THREAD_STACKSIZE should be >= 32768 but is set to 16384/);
});

Deno.test("engines with bdevs pinned unevenly across NUMA nodes: fault 728 unless allowed", () => {
  const eng = (i: number, numa: number) =>
    engineYaml(ramTierYaml(`/mnt/daos${i}`) + fileTierYaml([`/tmp/bdev${i}`]), {
      targets: 4,
      port: 31416 + i,
      extra: `    pinned_numa_node: ${numa}\n    log_file: /tmp/e${i}.log\n`,
    });
  const base = `provider: ofi+tcp\nmgmt_svc_replicas: [a]\nengines:\n${eng(0, 0)}${eng(1, 0)}${
    eng(2, 1)
  }`;
  const { problems: p } = checkServerConfigText(base, "t.yml");
  assert.equal(p.length, 1);
  assert.equal(p[0].code, 728);
  assert.equal(p[0].message, "uneven distribution of engines across NUMA nodes map[0:2 1:1]");
  assert.deepEqual(
    checkServerConfigText("allow_numa_imbalance: true\n" + base, "t.yml").problems,
    [],
  );
});

Deno.test("engines must share engine 0's targets and nr_xs_helpers: faults 715, 716", () => {
  const eng = (i: number, targets: number, helpers: number) =>
    engineYaml(ramTierYaml(`/mnt/daos${i}`), {
      targets,
      port: 31416 + 1000 * i,
      extra: `    nr_xs_helpers: ${helpers}\n    log_file: /tmp/e${i}.log\n`,
    });
  const text = (t1: number, h1: number) =>
    `provider: ofi+tcp\nmgmt_svc_replicas: [a]\nengines:\n${eng(0, 4, 1)}${eng(1, t1, h1)}`;
  const found = (t1: number, h1: number) =>
    checkServerConfigText(text(t1, h1), "t.yml").problems.map((p) => [p.code, p.message]);
  assert.deepEqual(found(4, 1), []);
  assert.deepEqual(found(8, 2), [
    [715, "engine 1 has 8 targets but engine 0 has 4"],
    [716, "engine 1 has 2 nr_xs_helpers but engine 0 has 1"],
  ]);
  assert.deepEqual(found(4, 0), [[716, "engine 1 has 0 nr_xs_helpers but engine 0 has 1"]]);
});

Deno.test("log_mask and env_vars D_LOG_MASK/DD_MASK/DD_SUBSYS are checked at their line", () => {
  const text = MIN.replace(
    "    fabric_iface: lo\n",
    "    fabric_iface: lo\n    log_mask: ERR,MGMT\n" +
      "    env_vars:\n      - DD_MASK=mgmt,nope\n      - DD_SUBSYS=bio\n      - D_LOG_MASK=LOUD\n",
  );
  const p = problems(text);
  assert.equal(p.length, 3, p.join("\n"));
  assert.match(p[0], /^t\.yml:8:15: .*log_mask: log mask entry 1 is "MGMT"/);
  assert.match(p[1], /^t\.yml:10:7: .*env_vars D_LOG_MASK: unknown log level "LOUD"/);
  assert.match(
    p[2],
    /^t\.yml:10:7: .*env_vars DD_MASK: DD_MASK debug streams: unknown name "nope"/,
  );
  const ok = MIN.replace(
    "    fabric_iface: lo\n",
    "    fabric_iface: lo\n    log_mask: DEBUG,mgmt=info\n    env_vars:\n      - DD_MASK=all\n      - DD_SUBSYS=mgmt,bio\n",
  );
  assert.deepEqual(problems(ok), []);
});
