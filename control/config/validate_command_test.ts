import assert from "node:assert/strict";
import type { HostFacts } from "./hardware_check.ts";
import { loadServerConfigForStart, validateConfigFile } from "./validate_command.ts";
import { isFault } from "../lib/fault.ts";
import { runFaultCallback } from "./fault_domain.ts";
import { loadServerConfig } from "./load.ts";

const dir = new URL("./testdata/", import.meta.url).pathname;

function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    interfaces: [{
      name: "lo",
      family: "IPv4",
      address: "127.0.0.1",
      netmask: "255.0.0.0",
      scopeid: null,
      cidr: "127.0.0.1/8",
      mac: "00:00:00:00:00:00",
    }],
    mem: {
      memTotalKb: 256 * 1024 * 1024,
      memFreeKb: 0,
      memAvailableKb: 0,
      hugepagesTotal: 0,
      hugepagesFree: 0,
      hugepagesReserved: 0,
      hugepagesSurplus: 0,
      hugepageSizeKb: 2048,
    },
    nvme: [],
    stat: () => Promise.resolve(null),
    lstat: () => Promise.resolve(null),
    resolves: (h) => Promise.resolve(h === "localhost"),
    resolveIPv4: (h) => Promise.resolve(h === "localhost" ? "127.0.0.1" : null),
    netDevClass: () => Promise.resolve(772),
    thpEnabled: "always [madvise] never\n",
    runFaultCb: (p) => runFaultCallback(p),
    ...over,
  };
}

Deno.test("offline validation of reference configs passes; --hardware reports this host's gaps", async () => {
  const path = dir + "reference_pmem_verbs.yml";
  const offline = await validateConfigFile(path, { hardware: false });
  assert.deepEqual(offline.problems, []);
  assert.match(offline.text, /is valid\n$/);
  const hw = await validateConfigFile(path, { hardware: true, facts: facts() });
  const msgs = hw.problems.map((p) => `${p.line}:${p.col} ${p.message}`);
  // ib0/ib1 missing, /dev/pmem0-1 missing, 4 NVMe controllers missing, socket dir missing.
  assert.ok(
    msgs.some((m) => /^22:19 fabric_iface "ib0" of engine 0: no such interface/.test(m)),
    msgs.join("\n"),
  );
  assert.ok(
    msgs.some((m) => /No PMem modules exist on storage server \(\/dev\/pmem1/.test(m)),
    msgs.join("\n"),
  );
  assert.equal(msgs.filter((m) => /NVMe controller .* not found/.test(m)).length, 4);
  assert.ok(msgs.some((m) => /missing socket directory \/var\/run\/daos_server/.test(m)));
  assert.match(hw.text, /\d+ problems found in /);
});

Deno.test("the start gate refuses a config with hardware problems, naming file:line:col", async () => {
  const e = await loadServerConfigForStart(dir + "reference_file_emulated.yml", facts())
    .then(() => null, (x: unknown) => x);
  assert(isFault(e), String(e));
  assert.match(e.description, /reference_file_emulated\.yml:\d+:\d+: /);
  assert.match(e.description, /more; run 'daos_server config validate --hardware/);
});

Deno.test("ram-disk larger than memory allows is fault 731 at its scm_size", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const text = (await Deno.readTextFile(dir + "reference_file_emulated.yml"))
      .replace("scm_size: 4", "scm_size: 400").replace("/tmp/daos-bdev", `${tmp}/bdev`) +
      `socket_dir: ${tmp}\n`;
    await Deno.writeTextFile(`${tmp}/c.yml`, text);
    const r = await validateConfigFile(`${tmp}/c.yml`, {
      hardware: true,
      facts: facts({ stat: (p) => Deno.stat(p).catch(() => null) }),
    });
    assert.equal(r.problems.length, 1, r.text);
    assert.equal(r.problems[0].code, 731);
    assert.match(r.text, /:22:19: configured ram-disk size 400\.0 GiB is higher than the maximum/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("hardware: unresolvable MS replicas (705) and fault_cb permissions (718-720)", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const cb = `${tmp}/cb.sh`;
    await Deno.writeTextFile(cb, "#!/bin/sh\necho /r1/h1\n");
    const text = (await Deno.readTextFile(dir + "reference_file_emulated.yml"))
      .replace("fault_path: /rack1/host1", `fault_cb: ${cb}`)
      .replace('access_points: ["localhost"]', 'access_points: ["nowhere.invalid"]')
      .replace("/tmp/daos-bdev", `${tmp}/bdev`) + `socket_dir: ${tmp}\nsystem_ram_reserved: 1\n`;
    await Deno.writeTextFile(`${tmp}/c.yml`, text);
    const real = facts({
      stat: (p) => Deno.stat(p).catch(() => null),
      lstat: (p) => Deno.lstat(p).catch(() => null),
    });
    const codes = async () =>
      (await validateConfigFile(`${tmp}/c.yml`, { hardware: true, facts: real })).problems.map((
        p,
      ) => p.code).sort();
    await Deno.chmod(cb, 0o644);
    assert.deepEqual(await codes(), [705, 720]);
    await Deno.chmod(cb, 0o777);
    assert.deepEqual(await codes(), [705, 719]);
    await Deno.chmod(cb, 0o755);
    assert.deepEqual(await codes(), [705]);
    await Deno.remove(cb);
    assert.deepEqual(await codes(), [705, 718]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("hardware: THP [always] (624), mixed fabric device classes (613), fault_cb run", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const base = (await Deno.readTextFile(dir + "reference_file_emulated.yml"))
      .replace("/tmp/daos-bdev", `${tmp}/bdev`) + `socket_dir: ${tmp}\nsystem_ram_reserved: 1\n`;
    const run = async (text: string, over: Partial<HostFacts>) => {
      await Deno.writeTextFile(`${tmp}/c.yml`, text);
      const f = facts({ stat: (p) => Deno.stat(p).catch(() => null), ...over });
      return await validateConfigFile(`${tmp}/c.yml`, { hardware: true, facts: f });
    };
    const thp = { thpEnabled: "[always] madvise never\n" };
    const r = await run(base, thp);
    assert.deepEqual(r.problems.map((p) => p.code), [624], r.text);
    assert.match(r.text, /transparent hugepages are enabled on this host/);
    assert.match(r.text, /set allow_thp: true/);
    assert.deepEqual((await run(base + "allow_thp: true\n", thp)).problems, []);
    // The demo-style start gate throws the same fault.
    await Deno.writeTextFile(`${tmp}/c.yml`, base);
    const gate = await loadServerConfigForStart(
      `${tmp}/c.yml`,
      facts({ stat: (p) => Deno.stat(p).catch(() => null), ...thp }),
    ).then(() => null, (x: unknown) => x);
    assert(isFault(gate) && gate.code === 624, String(gate));

    // Two engines: lo (loopback) and a second interface of class ETHER.
    const second = base.replace(/engines:\n/, "engines:\n" + engineYaml("eth9", tmp));
    const mixed = await run(second, {
      interfaces: [...facts().interfaces, { ...facts().interfaces[0], name: "eth9" }],
      netDevClass: (i) => Promise.resolve(i === "lo" ? 772 : 1),
    });
    const p613 = mixed.problems.filter((p) => p.code === 613);
    assert.equal(p613.length, 1, mixed.text);
    assert.match(
      p613[0].message,
      /fabric_iface "lo" of class "LOOPBACK" that conflicts .* "ETHER"/,
    );
    assert.ok(p613[0].line > 0);

    // fault_cb runs at the gate: its failure is reported at the fault_cb key.
    const cb = `${tmp}/cb.sh`;
    await Deno.writeTextFile(cb, "#!/bin/sh\nexit 1\n");
    await Deno.chmod(cb, 0o755);
    const failing = await run(
      base.replace("fault_path: /rack1/host1", `fault_cb: ${cb}`),
      { lstat: (p) => Deno.lstat(p).catch(() => null) },
    );
    assert.deepEqual(failing.problems.map((p) => [p.code, p.line]), [[721, 7]], failing.text);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** An extra engine entry (first in the list) on `iface`. */
function engineYaml(iface: string, tmp: string): string {
  return `  - targets: 4
    nr_xs_helpers: 0
    fabric_iface: ${iface}
    fabric_iface_port: 32416
    log_file: ${tmp}/extra.log
    storage:
      - class: ram
        scm_mount: ${tmp}/extra_scm
        scm_size: 1
`;
}

Deno.test("config validate and start: mgmt_svc_db problems come with file:line:col and the fix", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const path = `${tmp}/db.yml`;
    await Deno.writeTextFile(
      path,
      "name: daos_server\nmgmt_svc_db:\n  lease_ttl_s: 0\n  client_prot: 2379\n",
    );
    const r = await validateConfigFile(path, { hardware: false });
    assert.equal(
      r.text,
      `${path}:3:16: mgmt_svc_db.lease_ttl_s: 0 must be a positive number\n` +
        "  resolution: set mgmt_svc_db.lease_ttl_s to a number greater than 0 or remove it " +
        "for the default\n" +
        `${path}:4:3: unknown key "mgmt_svc_db.client_prot": parse of "${path}" failed; config ` +
        "contains invalid parameters and may be out of date, see server config examples\n" +
        "  resolution: remove it; mgmt_svc_db knows endpoints, client_port, peer_port, ports, " +
        "election_timeout_ms, heartbeat_interval_ms, lease_ttl_s, call_timeout_ms, " +
        "write_retry_ms, host_dead_after_ms, probe_interval_ms, ras_log_size, audit_log_size, " +
        "data_dir, etcd_binary\n" +
        "NOTICE: No DAOS I/O Engines in configuration, DAOS Control Server starting in " +
        "discovery mode\n" +
        `2 problems found in ${path}\n`,
    );
    // The loader (daos_server start's first gate) throws the first one, located.
    await assert.rejects(
      loadServerConfig(path),
      (e) =>
        isFault(e) &&
        e.description.startsWith(
          `insufficient information in configuration: ${path}:3:16: mgmt_svc_db.lease_ttl_s`,
        ),
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
