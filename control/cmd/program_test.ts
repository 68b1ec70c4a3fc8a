/**
 * The daos_server command line in-process, on a fake host: go-flags messages and help, each
 * command's text and -j output, and their errors.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { checkServerConfigText } from "../config/load.ts";
import { fakeHost, MemorySyslog, runCli, tempConfig } from "./testing.ts";

const COMMANDS = "config, ms, network, nvme, scm, start, storage or version";

Deno.test("daos_server with no arguments prints the help and fails as go-flags does", async () => {
  const r = await runCli([]);
  equal(r.code, 1);
  ok(r.stdout.startsWith("Usage:\n  daos_server [OPTIONS] <command>\n\nDAOS Control Server\n"));
  match(r.stdout, /\nAvailable commands:\n {2}config \(aliases: cfg\) +Perform tasks/);
  equal(r.stderr, `ERROR: daos_server: Please specify one command of: ${COMMANDS}\n`);
});

Deno.test("help of a group is that group's, with the global options; exit 0", async () => {
  const r = await runCli(["storage", "--help"]);
  equal(r.code, 0);
  equal(r.stderr, "");
  ok(r.stdout.startsWith(
    "Usage:\n  daos_server [OPTIONS] storage <command>\n\n" +
      "Perform tasks related to locally-attached storage (deprecated, use scm or nvme instead)\n",
  ));
  match(r.stdout, /Application Options:\n {6}--allow-proxy +Allow proxy/);
  match(r.stdout, /\n {2}-o, --config= +Server config file path\n/);
  match(r.stdout, /Available commands:\n {2}prepare +Prepare SCM and NVMe.*\n {2}scan +Scan SCM/);
  ok(!r.stdout.includes("Start daos_server"), "the top-level command list is not shown");

  const leaf = await runCli(["nvme", "prepare", "-h"]);
  equal(leaf.code, 0);
  ok(leaf.stdout.startsWith(
    "Usage:\n  daos_server [OPTIONS] nvme prepare [prepare-OPTIONS] [pci-allow-list]\n",
  ));
  match(leaf.stdout, /\n\[prepare command options\]\n {6}-l, --helper-log-file= /);
  match(leaf.stdout, /\n {6}-p, --hugepages= +Number of hugepages/);
  ok(!leaf.stdout.includes("Available commands"));
  // Every group has its own help.
  for (const g of ["scm", "nvme", "network", "ms", "config", "start"]) {
    const h = await runCli([g, "--help"]);
    equal(h.code, 0, g);
    ok(h.stdout.startsWith(`Usage:\n  daos_server [OPTIONS] ${g}`), g);
  }
});

Deno.test("parse errors in go-flags wording, exit 1", async () => {
  const cases: [string[], string][] = [
    [["frob"], `Unknown command \`frob'. Please specify one command of: ${COMMANDS}`],
    [["netwrk"], "Unknown command `netwrk', did you mean `network'?"],
    [["scm"], "Please specify one command of: prepare, reset or scan"],
    [["nvme", "scann"], "Unknown command `scann', did you mean `scan'?"],
    [
      ["nvme", "scna"],
      "Unknown command `scna'. Please specify one command of: prepare, reset or scan",
    ],
    [["start", "--bogus"], "unknown flag `bogus'"],
    [["scm", "scan", "-q"], "unknown flag `q'"],
    [["network", "scan", "-p"], "expected argument for flag `-p, --provider'"],
    [
      ["scm", "prepare", "-S", "x"],
      "invalid argument for flag `-S, --scm-ns-per-socket' (expected uint): " +
      'strconv.ParseUint: parsing "x": invalid syntax',
    ],
    [["scm", "scan", "extra", "args"], "unexpected commandline arguments: [extra args]"],
    [["nvme", "prepare", "0000:01:00.0", "x"], "unexpected commandline arguments: [x]"],
    [
      ["storage", "scan", "-o", "/x.yml"],
      "DAOS Server config filepath has been supplied but this command will not use it",
    ],
  ];
  for (const [args, msg] of cases) {
    const r = await runCli(args);
    equal(r.code, 1, args.join(" "));
    equal(r.stdout, "", args.join(" "));
    equal(r.stderr, `ERROR: daos_server: ${msg}\n`, args.join(" "));
  }
});

Deno.test("-j: a parse or command error is one JSON document on stdout, the error on stderr", async () => {
  const r = await runCli(["-j", "frob"]);
  equal(r.code, 1);
  deepEqual(JSON.parse(r.stdout), {
    response: null,
    error: `Unknown command \`frob'. Please specify one command of: ${COMMANDS}`,
    status: -1025,
  });
  const p = await runCli(["scm", "prepare", "--json"]);
  equal(p.code, 1);
  deepEqual(JSON.parse(p.stdout), {
    response: null,
    error: 'scm: code = 211 description = "No PMem modules exist on storage server"',
    status: -1025,
  });
  equal(
    p.stderr,
    'ERROR: daos_server: scm: code = 211 description = "No PMem modules exist on storage server"\n' +
      'ERROR: daos_server: scm: code = 211 resolution = "Install PMem modules and retry command"\n',
  );
});

Deno.test("version: text and -j", async () => {
  const t = await runCli(["version"]);
  deepEqual(t, { code: 0, stdout: "daos_server version 2.9.100\n", stderr: "" });
  const j = await runCli(["version", "-j"]);
  equal(j.code, 0);
  deepEqual(JSON.parse(j.stdout), {
    response: {
      name: "daos_server",
      version: "2.9.100",
      release: true,
      build_time: "0001-01-01T00:00:00Z",
    },
    error: null,
    status: 0,
  });
});

const NVME_TABLE = "NVMe PCI     Model               FW Revision Socket Capacity Role(s) Rank \n" +
  "--------     -----               ----------- ------ -------- ------- ---- \n" +
  "0000:01:00.0 SAMSUNG MZ1LB1T9    EDA5202Q    0      1.9 TB   NA      None \n" +
  "0000:81:00.0 INTEL SSDPE2KE016T8 VDV10170    1      1.6 TB   NA      None \n";

Deno.test("storage scan (deprecated): NVMe, SCM and memory; -j the HostStorage document", async () => {
  const r = await runCli(["storage", "scan"]);
  equal(r.code, 0);
  equal(
    r.stderr,
    "NOTICE: storage scan subcommand is deprecated, use nvme or scm subcommands instead\n",
  );
  equal(
    r.stdout,
    "Scanning locally-attached storage...\n\n" + NVME_TABLE + "\n  No SCM modules found\n\n" +
      "HugePage Size: 2048 KB\nHugepages: 4 total, 3 free, 0 reserved, 0 surplus\n" +
      "Memory: 1000 KiB total, 600 KiB available\n",
  );
  const j = await runCli(["-j", "storage", "scan"]);
  equal(j.code, 0);
  const doc = JSON.parse(j.stdout);
  equal(doc.status, 0);
  deepEqual(
    doc.response.nvme_devices.map((d: { pci_addr: string; model: string }) => [
      d.pci_addr,
      d.model,
    ]),
    [["0000:81:00.0", "INTEL SSDPE2KE016T8"], ["0000:01:00.0", "SAMSUNG MZ1LB1T9"]],
  );
  equal(doc.response.scm_namespaces, null);
  equal(doc.response.mem_info.hugepage_size_kb, 2048);
  equal(doc.response.mem_info.mem_total_kb, 1000);
});

Deno.test("scm scan: PMem namespaces from libnvdimm, --socket filter, -j", async () => {
  const pmem = () =>
    Promise.resolve({
      modules: 2,
      namespaces: [
        {
          uuid: "u0",
          blockdev: "pmem0",
          dev: "namespace0.0",
          numaNode: 0,
          sizeBytes: 3 * 2 ** 30,
          mode: "fsdax",
        },
        {
          uuid: "u1",
          blockdev: "pmem1",
          dev: "namespace1.0",
          numaNode: 1,
          sizeBytes: 3 * 2 ** 30,
          mode: "fsdax",
        },
      ],
    });
  const host = fakeHost({ pmem });
  const r = await runCli(["scm", "scan"], host);
  equal(r.code, 0);
  equal(
    r.stdout,
    "Scanning locally-attached PMem storage...\n" +
      "SCM Namespace Socket Capacity \n------------- ------ -------- \n" +
      "pmem0         0      3.2 GB   \npmem1         1      3.2 GB   \n",
  );
  const one = await runCli(["scm", "scan", "--socket", "1"], host);
  ok(one.stdout.includes("pmem1") && !one.stdout.includes("pmem0"));
  const j = await runCli(["-j", "scm", "scan"], host);
  const doc = JSON.parse(j.stdout);
  deepEqual(Object.keys(doc.response), ["scm_modules", "scm_namespaces"]);
  deepEqual(doc.response.scm_namespaces.map((n: { blockdev: string }) => n.blockdev), [
    "pmem0",
    "pmem1",
  ]);
  // No PMem at all: the reference's "No SCM modules found".
  const none = await runCli(["scm", "scan"]);
  equal(none.stdout, "Scanning locally-attached PMem storage...\n  No SCM modules found\n");
});

Deno.test("scm prepare/reset: fault 211 without PMem; -S 0 refused; existing namespaces shown", async () => {
  for (const sub of ["prepare", "reset"]) {
    const r = await runCli(["scm", sub, "-f"]);
    equal(r.code, 1, sub);
    match(r.stderr, /^ERROR: daos_server: scm: code = 211 description = "No PMem modules/);
    match(r.stderr, /resolution = "Install PMem modules and retry command"\n$/);
  }
  const zero = await runCli(["scm", "prepare", "-S", "0"]);
  equal(zero.stderr, "ERROR: daos_server: (-S|--scm-ns-per-socket) should be set to at least 1\n");
  const withNs = fakeHost({
    pmem: () =>
      Promise.resolve({
        modules: 1,
        namespaces: [{
          uuid: "u",
          blockdev: "pmem0",
          dev: "namespace0.0",
          numaNode: 0,
          sizeBytes: 2 ** 30,
          mode: "fsdax",
        }],
      }),
  });
  const done = await runCli(["scm", "prepare", "-f"], withNs);
  equal(done.code, 0);
  match(done.stdout, /^Prepare locally-attached PMem...\nSCM Namespace Socket Capacity/);
  const modsOnly = fakeHost({ pmem: () => Promise.resolve({ modules: 2, namespaces: [] }) });
  const reset = await runCli(["scm", "reset", "-f"], modsOnly);
  equal(reset.code, 1);
  match(reset.stderr, /general: code = 1 description = "PMem reset needs ipmctl and ndctl/);
});

Deno.test("nvme scan: every SSD, or the config's bdev_list ones annotated with their roles", async () => {
  const r = await runCli(["nvme", "scan"]);
  equal(r.code, 0);
  equal(r.stdout, "Scan locally-attached NVMe storage...\n" + NVME_TABLE);
  const cfg = await tempConfig(
    "name: daos_server\nprovider: ofi+tcp\nengines:\n- targets: 4\n  fabric_iface: eth0\n" +
      "  fabric_iface_port: 31416\n  log_file: /tmp/e0.log\n  storage:\n  - class: ram\n" +
      "    scm_mount: /mnt/daos0\n  - class: nvme\n    bdev_list: [0000:81:00.0]\n",
  );
  try {
    const f = await runCli(["-o", cfg, "nvme", "scan"]);
    equal(f.code, 0, f.stderr);
    match(f.stdout, /0000:81:00\.0 INTEL SSDPE2KE016T8 VDV10170 +1 +1\.6 TB +NA +None/);
    ok(!f.stdout.includes("0000:01:00.0"), "not in bdev_list");
    const all = await runCli(["-o", cfg, "nvme", "scan", "--ignore-config"]);
    ok(all.stdout.includes("0000:01:00.0"));
    const j = await runCli(["-o", cfg, "-j", "nvme", "scan"]);
    const doc = JSON.parse(j.stdout);
    deepEqual(Object.keys(doc.response), ["nvme_devices"]);
    deepEqual(doc.response.nvme_devices.map((d: { pci_addr: string }) => d.pci_addr), [
      "0000:81:00.0",
    ]);
  } finally {
    await Deno.remove(cfg.replace(/\/[^/]*$/, ""), { recursive: true });
  }
  const bad = await runCli(["-o", "/nonexistent/x.yml", "nvme", "scan"]);
  equal(bad.code, 1);
  match(bad.stderr, /^ERROR: daos_server: failed to load config from \/nonexistent\/x\.yml: /);
});

Deno.test("nvme prepare/reset: fault 1 without SPDK; bad PCI lists named; SPDK's setup.sh run as the reference's helper", async () => {
  const r = await runCli(["nvme", "prepare"]);
  equal(r.code, 1);
  match(r.stderr, /^ERROR: daos_server: general: code = 1 description = "SPDK is not installed/);
  match(r.stderr, /\nERROR: daos_server: general: code = 1 resolution = "install SPDK/);
  const reset = await runCli(["nvme", "reset"]);
  match(reset.stderr, /^ERROR: daos_server: nvme reset backend: general: code = 1 /);
  const bad = await runCli(["nvme", "prepare", "--pci-block-list", "0000:01:00.0,nope"]);
  equal(
    bad.stderr,
    "ERROR: daos_server: processing request parameters: sanitizing cli input pci address " +
      'lists: invalid addresses in pci block list: "nope" (use PCI addresses like ' +
      "0000:81:00.0, comma-separated)\n",
  );

  const dir = await Deno.makeTempDir({ prefix: "dsrv-spdk-" });
  try {
    const script = `${dir}/setup.sh`;
    await Deno.writeTextFile(
      script,
      `#!/bin/sh\necho "args=$* allowed=$PCI_ALLOWED blocked=$PCI_BLOCKED nrhuge=$NRHUGE ` +
        `user=$TARGET_USER override=$DRIVER_OVERRIDE" >> ${dir}/calls\n`,
    );
    await Deno.chmod(script, 0o755);
    const host = fakeHost({ spdkSetup: () => Promise.resolve(script) });
    const p = await runCli(
      ["nvme", "prepare", "-p", "64", "-u", "root", "0000:81:00.0,0000:01:00.0"],
      host,
    );
    equal(p.code, 0, p.stderr);
    const z = await runCli(["nvme", "reset", "-u", "root", "--disable-vfio"], host);
    equal(z.code, 0, z.stderr);
    deepEqual((await Deno.readTextFile(`${dir}/calls`)).trim().split("\n"), [
      "args= allowed=0000:01:00.0 0000:81:00.0 blocked= nrhuge=64 user=root override=",
      "args=reset allowed= blocked= nrhuge= user=root override=uio_pci_generic",
    ]);
    await Deno.writeTextFile(script, "#!/bin/sh\necho 'no hugepages' >&2\nexit 3\n");
    const fail = await runCli(["nvme", "prepare", "-u", "root"], host);
    equal(fail.stderr, `ERROR: daos_server: ${script} exited 3: no hugepages\n`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("storage prepare (deprecated): both parts' errors, -s/-n exclusive", async () => {
  const both = await runCli(["storage", "prepare", "-f"]);
  equal(both.code, 1);
  match(
    both.stderr,
    /^ERROR: daos_server: storage prepare command returned multiple errors: scm: code = 211 .*SPDK is not installed/,
  );
  const x = await runCli(["storage", "prepare", "-s", "-n"]);
  equal(
    x.stderr,
    "ERROR: daos_server: scm-only and nvme-only options should not be set together\n",
  );
  const scmOnly = await runCli(["storage", "prepare", "-s", "-f"]);
  match(scmOnly.stderr, /^ERROR: daos_server: scm: code = 211 /);
});

Deno.test("network scan: per NUMA node and provider, -p filter and all, -j", async () => {
  const r = await runCli(["network", "scan", "-p", "ofi+verbs"]);
  equal(r.code, 0);
  equal(
    r.stdout,
    "---------\nlocalhost\n---------\n\n    -------------\n    NUMA Socket 1\n" +
      "    -------------\n\n        Provider  Interfaces \n        --------  ---------- \n" +
      "        ofi+verbs ib0        \n\n",
  );
  const all = await runCli(["network", "scan", "-p", "all"]);
  ok(all.stdout.includes("NUMA Socket 0") && all.stdout.includes("ofi+verbs;ofi_rxm ib0"));
  ok(!all.stdout.includes(" lo "), "lo is excluded as in the reference");
  const cfg = await tempConfig("name: daos_server\nprovider: ofi+tcp\nengines: []\n");
  try {
    const c = await runCli(["-o", cfg, "-j", "network", "scan"]);
    const doc = JSON.parse(c.stdout);
    deepEqual(doc.response.Providers, ["ofi+tcp"]);
    deepEqual(doc.response.Interfaces.map((i: { Device: string }) => i.Device), ["eth0", "ib0"]);
    equal(doc.response.NumaCount, 2);
  } finally {
    await Deno.remove(cfg.replace(/\/[^/]*$/, ""), { recursive: true });
  }
});

Deno.test("ms status: replica per config, the local etcd member's view, refusal on a non-replica", async () => {
  const cfg = await tempConfig(
    "name: daos_server\nport: 10001\ncontrol_address: 127.0.0.1\n" +
      "mgmt_svc_replicas: [127.0.0.1:10001, 127.0.0.2:10001, 127.0.0.3:10001]\n" +
      "mgmt_svc_db:\n  data_dir: /var/lib/daos/mgmt_db\n  client_port: 2479\nengines: []\n",
  );
  try {
    const calls: string[] = [];
    const httpPost = (url: string) => {
      calls.push(url);
      if (url.endsWith("/v3/maintenance/status")) {
        return Promise.resolve({
          header: { member_id: "11" },
          version: "3.5.17",
          leader: "22",
          raftTerm: "4",
          raftIndex: "120",
        });
      }
      return Promise.resolve({
        members: [
          { ID: "11", name: "ms-127.0.0.1-10001", peerURLs: ["http://127.0.0.1:2380"] },
          { ID: "22", name: "ms-127.0.0.2-10001", peerURLs: ["http://127.0.0.2:2380"] },
        ],
      });
    };
    const host = fakeHost({ httpPost, tcpProbe: (a) => Promise.resolve(a === "127.0.0.1:10001") });
    const r = await runCli(["ms", "status", "-o", cfg], host);
    equal(r.code, 0, r.stderr);
    equal(
      r.stdout,
      "DAOS Management Service DB status:\n  Control configuration:\n" +
        "    Local replica address: 127.0.0.1:10001\n" +
        "    Peer replica addresses: 127.0.0.2:10001,127.0.0.3:10001\n" +
        "    Local daos_server: running (control port 127.0.0.1:10001 answers)\n" +
        "  Database (etcd member ms-127.0.0.1-10001, http://127.0.0.1:2479):\n" +
        "    Data directory: /var/lib/daos/mgmt_db\n    Running: yes (etcd 3.5.17)\n" +
        "    Leader: ms-127.0.0.2-10001\n    Raft term: 4\n    Raft index: 120\n" +
        "  Raft configuration (members):\n" +
        "    ms-127.0.0.1-10001 (http://127.0.0.1:2380): local\n" +
        "    ms-127.0.0.2-10001 (http://127.0.0.2:2380): peer\n",
    );
    deepEqual(calls, [
      "http://127.0.0.1:2479/v3/maintenance/status",
      "http://127.0.0.1:2479/v3/cluster/member/list",
    ]);
    const j = await runCli(["-j", "ms", "status", "-o", cfg], host);
    const doc = JSON.parse(j.stdout).response;
    deepEqual([
      doc.local_replica,
      doc.server_running,
      doc.db.running,
      doc.db.is_leader,
      doc.db.leader,
    ], [
      "127.0.0.1:10001",
      true,
      true,
      false,
      "ms-127.0.0.2-10001",
    ]);
    // DB not answering: still a report, saying so and why.
    const down = await runCli(["ms", "status", "-o", cfg]);
    equal(down.code, 0);
    match(
      down.stdout,
      /\n {4}Local daos_server: not running \(control port 127\.0\.0\.1:10001 does not answer\)\n/,
    );
    match(down.stdout, /\n {4}Running: no \(no answer from http:\/\/fake\); it runs while/);
  } finally {
    await Deno.remove(cfg.replace(/\/[^/]*$/, ""), { recursive: true });
  }
  const other = await tempConfig(
    "name: daos_server\nport: 10001\ncontrol_address: 127.0.0.1\n" +
      "mgmt_svc_replicas: [127.0.0.2:10001]\nengines: []\n",
  );
  try {
    const r = await runCli(["ms", "status", "-o", other]);
    equal(r.code, 1);
    equal(
      r.stderr,
      "ERROR: daos_server: this node is not a DAOS Management Service replica " +
        "(mgmt_svc_replicas: 127.0.0.2:10001)\n",
    );
  } finally {
    await Deno.remove(other.replace(/\/[^/]*$/, ""), { recursive: true });
  }
  const none = await runCli(["ms", "status"]);
  equal(
    none.stderr,
    "ERROR: daos_server: no configuration file given and /nonexistent/daos_server.yml does " +
      "not exist: use daos_server ms status -o <daos_server.yml>\n",
  );
});

Deno.test("global options: -J JSON log records, -b debug lines, --syslog, proxy scrubbing", async () => {
  const j = await runCli(["-J", "storage", "scan"]);
  equal(j.code, 0);
  const rec = JSON.parse(j.stderr.trim());
  deepEqual([rec.level, rec.msg], [
    "notice",
    "storage scan subcommand is deprecated, use nvme or scm subcommands instead",
  ]);
  ok(!Number.isNaN(Date.parse(rec.time)));
  equal(JSON.parse(j.stdout.split("\n")[0]).msg, "Scanning locally-attached storage...");

  const quiet = await runCli(["nvme", "prepare", "-u", "root"]);
  ok(!quiet.stderr.includes("DEBUG:"));
  const dbg = await runCli(["-b", "nvme", "prepare", "-u", "root"]);
  match(
    dbg.stderr,
    /^DEBUG: Prepare locally-attached NVMe storage...\nDEBUG: nvme prepare request/,
  );

  const sys = new MemorySyslog();
  const s = await runCli(["--syslog", "scm", "prepare"], fakeHost({ syslog: () => sys }));
  equal(s.code, 1);
  equal(s.stdout, "", "INFO goes to syslog instead of stdout, as the reference");
  deepEqual(sys.lines, ["info: Prepare locally-attached PMem..."]);

  Deno.env.set("HTTPS_PROXY", "http://proxy:3128");
  try {
    await runCli(["--allow-proxy", "version"]);
    equal(Deno.env.get("HTTPS_PROXY"), "http://proxy:3128");
    await runCli(["version"]);
    equal(Deno.env.get("HTTPS_PROXY"), undefined);
  } finally {
    Deno.env.delete("HTTPS_PROXY");
  }
});

Deno.test("config generate: YAML alone on stdout that validates; -j; choice and -o errors", async () => {
  // One engine on the fake host's Ethernet port, tmpfs SCM, no NVMe.
  const gen = ["config", "generate", "-e", "1", "-c", "ethernet", "-t", "-s"];
  const r = await runCli([...gen, "-r", "10.0.0.1"]);
  equal(r.code, 0, r.stderr);
  equal(r.stderr, "");
  const { config, problems } = checkServerConfigText(r.stdout, "gen.yml");
  deepEqual(problems, []);
  deepEqual(config!.engines.map((e) => [e.fabric.fabricIface, e.scm!.class]), [["eth0", "ram"]]);
  const j = await runCli(["-j", "config", "gen", "-e", "1", "-c", "ethernet", "-t", "-s"]);
  equal(j.code, 0, j.stderr);
  deepEqual(JSON.parse(j.stdout).response.mgmt_svc_replicas, ["localhost"]);
  const ap = await runCli([...gen, "-a", "h1"]);
  equal(ap.stderr, "NOTICE: access-points is deprecated; please use ms-replicas instead\n");
  match(ap.stdout, /mgmt_svc_replicas:\n {2}- h1\n/);
  const bad = await runCli(["config", "generate", "-c", "wifi"]);
  equal(
    bad.stderr,
    "ERROR: daos_server: Invalid value `wifi' for option `-c, --net-class'. Allowed values " +
      "are: ethernet or infiniband\n",
  );
  // The flags are dmg's (control/config/generate.ts): a bad port is named as dmg names it.
  const port = await runCli([...gen, "-f", "70000"]);
  equal(port.code, 1);
  match(port.stderr, /invalid argument for flag `-f, --fabric-ports'.*"70000"/);
  const ib = await runCli(["config", "generate", "-t", "-s"]);
  equal(ib.code, 1);
  match(ib.stderr, /insufficient number of infiniband network interfaces/);
  const o = await runCli(["-o", "/x.yml", "config", "generate"]);
  match(o.stderr, /config filepath has been supplied but this command will not use it/);
});

Deno.test("config validate: the report and its status; -j the problems as a document", async () => {
  const good = await tempConfig("name: daos_server\nmgmt_svc_replicas: [a, b, c]\nengines: []\n");
  const bad = await tempConfig(
    "name: daos_server\nport: 0\nengines: []\ncontrol_log_mask: LOUD\n",
  );
  try {
    const ok1 = await runCli(["config", "validate", "-o", good]);
    const discovery = "NOTICE: No DAOS I/O Engines in configuration, DAOS Control Server " +
      "starting in discovery mode\n";
    deepEqual(ok1, {
      code: 0,
      stdout: `${discovery}configuration ${good} is valid\n`,
      stderr: "",
    });
    const no = await runCli(["config", "validate", "-o", bad]);
    equal(no.code, 1);
    equal(no.stderr, "", "the report says it all");
    match(no.stdout, /daos_server\.yml:2:7: .*\n/);
    match(no.stdout, /\n2 problems found in .*daos_server\.yml\n$/);
    const j = await runCli(["-j", "config", "validate", "-o", good]);
    deepEqual(JSON.parse(j.stdout), {
      response: { valid: true, problems: [], notices: [discovery.slice(8, -1)] },
      error: null,
      status: 0,
    });
    const jb = await runCli(["-j", "config", "validate", "-o", bad]);
    equal(jb.code, 1);
    const doc = JSON.parse(jb.stdout);
    equal(doc.response.valid, false);
    deepEqual(doc.response.problems.map((p: { line: number }) => p.line), [2, 4]);
    match(doc.error, /^2 problems found in /);
    match(jb.stderr, /^ERROR: daos_server: 2 problems found in /);
  } finally {
    for (const p of [good, bad]) await Deno.remove(p.replace(/\/[^/]*$/, ""), { recursive: true });
  }
  const none = await runCli(["config", "validate"]);
  match(
    none.stderr,
    /^ERROR: daos_server: serverconfig: code = 702 description = "no configuration file given"/,
  );
});
