/**
 * bin/daos_server's command line as a process: go-flags errors, help, the local scans and
 * version on this host, and `ms status` against a real replica (its etcd member running).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { freePort, waitListening } from "./ctl_servers.ts";
import { makeFormatFixture } from "./format_fixture.ts";
import { needsFormat } from "../../control/storage/format_state.ts";
import { readSuperblock } from "../../control/storage/superblock.ts";

const top = new URL("../../", import.meta.url).pathname;

async function daosServer(...args: string[]) {
  const out = await new Deno.Command(`${top}bin/daos_server`, { args, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const COMMANDS = "config, ms, network, nvme, scm, start, storage or version";

Deno.test("daos_server: an unknown command or option exits 1 with go-flags' message", async () => {
  for (
    const [args, msg] of [
      [["frob"], `Unknown command \`frob'. Please specify one command of: ${COMMANDS}`],
      [["start", "--bogus"], "unknown flag `bogus'"],
      [["config", "validate", "--x"], "unknown flag `x'"],
      [["storage"], "Please specify one command of: prepare or scan"],
    ] as const
  ) {
    const r = await daosServer(...args);
    equal(r.code, 1, args.join(" "));
    equal(r.stdout, "");
    equal(r.stderr, `ERROR: daos_server: ${msg}\n`);
  }
});

Deno.test("daos_server: no arguments prints the help, then the go-flags error, exit 1", async () => {
  const r = await daosServer();
  equal(r.code, 1);
  ok(r.stdout.startsWith("Usage:\n  daos_server [OPTIONS] <command>\n"));
  equal(r.stderr, `ERROR: daos_server: Please specify one command of: ${COMMANDS}\n`);
  const h = await daosServer("scm", "--help");
  equal(h.code, 0);
  ok(h.stdout.startsWith("Usage:\n  daos_server [OPTIONS] scm <command>\n"));
  match(h.stdout, /Available commands:\n {2}prepare .*\n {2}reset .*\n {2}scan /);
});

Deno.test("daos_server: version and the local scans on this host (text and -j)", async () => {
  const v = await daosServer("version");
  deepEqual(v, { code: 0, stdout: "daos_server version 2.9.100\n", stderr: "" });
  equal(JSON.parse((await daosServer("-j", "version")).stdout).response.name, "daos_server");

  const s = await daosServer("-j", "storage", "scan");
  equal(s.code, 0, s.stderr);
  const doc = JSON.parse(s.stdout);
  equal(doc.status, 0);
  const mem = await Deno.readTextFile("/proc/meminfo");
  const total = Number(/^MemTotal:\s+(\d+)/m.exec(mem)![1]);
  equal(doc.response.mem_info.mem_total_kb, total, "memory as /proc/meminfo says");
  ok(Array.isArray(doc.response.nvme_devices));

  const t = await daosServer("storage", "scan");
  equal(t.code, 0);
  match(t.stdout, /^Scanning locally-attached storage...\n\n/);
  match(t.stdout, /\nHugePage Size: \d+ KB\n/);

  const n = await daosServer("network", "scan", "-p", "all");
  equal(n.code, 0, n.stderr);
  match(n.stdout, /^---------\nlocalhost\n---------\n\n {4}-------------\n {4}NUMA Socket \d+\n/);
});

Deno.test("daos_server: scm/nvme prepare on a host without PMem or SPDK give the faults", async () => {
  const pmem = (await Array.fromAsync(Deno.readDir("/sys/bus/nd/devices")).catch(() => []))
    .some((e) => /^(nmem|namespace)/.test(e.name));
  const spdk = await Deno.stat("/usr/share/spdk/scripts/setup.sh").then(() => true, () => false);
  if (!pmem) {
    const r = await daosServer("scm", "prepare", "-f");
    equal(r.code, 1);
    equal(
      r.stderr,
      'ERROR: daos_server: scm: code = 211 description = "No PMem modules exist on storage server"\n' +
        'ERROR: daos_server: scm: code = 211 resolution = "Install PMem modules and retry command"\n',
    );
  }
  if (!spdk) {
    const r = await daosServer("nvme", "prepare", "-u", "root");
    equal(r.code, 1);
    match(r.stderr, /^ERROR: daos_server: general: code = 1 description = "SPDK is not installed/);
  }
});

Deno.test("daos_server ms status: a running replica's etcd member is up and leads", async () => {
  const addr = "127.0.0.91";
  const dir = await Deno.makeTempDir({ prefix: "dsrv-ms-" });
  const port = freePort([addr]);
  const client = freePort([addr]);
  const peer = freePort([addr]);
  const cfg = `${dir}/daos_server.yml`;
  await Deno.mkdir(`${dir}/sock`);
  await Deno.writeTextFile(
    cfg,
    [
      "name: daos_server",
      `port: ${port}`,
      `control_address: ${addr}`,
      `mgmt_svc_replicas: [${addr}:${port}]`,
      "mgmt_svc_db:",
      `  data_dir: ${dir}/db`,
      `  client_port: ${client}`,
      `  peer_port: ${peer}`,
      "transport_config:",
      "  allow_insecure: true",
      `socket_dir: ${dir}/sock`,
      "engines: []",
      "",
    ].join("\n"),
  );
  const before = await daosServer("ms", "status", "-o", cfg);
  equal(before.code, 0, before.stderr);
  match(
    before.stdout,
    /\n {4}Local daos_server: not running \(control port 127\.0\.0\.91:\d+ does not answer\)\n/,
  );
  match(before.stdout, /\n {4}Running: no \(no answer from http:\/\/127\.0\.0\.91:\d+/);

  const proc = new Deno.Command(`${top}bin/daos_server`, {
    args: ["start", "-o", cfg],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(proc.stderr).text();
  try {
    await waitListening(addr, port, proc);
    let doc:
      | {
        server_running: boolean;
        db: { running: boolean; is_leader: boolean; members: unknown[] };
      }
      | undefined;
    for (let i = 0; i < 100; i++) {
      const r = await daosServer("-j", "ms", "status", "-o", cfg);
      equal(r.code, 0, r.stderr);
      doc = JSON.parse(r.stdout).response;
      if (doc!.db.running && doc!.db.is_leader) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    equal(doc!.server_running, true);
    equal(doc!.db.running, true);
    equal(doc!.db.is_leader, true);
    equal(doc!.db.members.length, 1);
    const t = await daosServer("ms", "status", "-o", cfg);
    match(t.stdout, /\n {4}Running: yes \(etcd [\d.]+\)\n {4}Leader: this replica\n/);
    match(t.stdout, new RegExp(`\\n {4}ms-${addr.replaceAll(".", "\\.")}-${port} .*: local\\n`));
  } finally {
    try {
      proc.kill("SIGTERM");
    } catch { /* exited */ }
    const timer = setTimeout(() => {
      try {
        proc.kill("SIGKILL");
      } catch { /* exited */ }
    }, 15_000);
    await proc.status;
    clearTimeout(timer);
    await stderr.catch(() => "");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("daos_server start --auto-format: unformatted storage is formatted at start, once", async () => {
  const addr = "127.0.0.92";
  const port = freePort([addr]);
  // No MS here (the replica is elsewhere): only the local format is under test.
  const f = await makeFormatFixture(
    1,
    `control_address: ${addr}\nsystem_ram_reserved: 1\nallow_thp: true\n` +
      `mgmt_svc_replicas: [127.0.0.93:${port}]\n`,
    port,
  );
  const e0 = f.config.engines[0];
  const start = () => {
    const proc = new Deno.Command(`${top}bin/daos_server`, {
      args: ["start", "--auto-format", "-o", f.configPath],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const s = { proc, log: "", done: Promise.resolve() };
    s.done = (async () => {
      for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) s.log += chunk;
    })();
    return s;
  };
  /** Waits (bounded) until the server's log matches `re`. */
  const waitLog = async (s: ReturnType<typeof start>, re: RegExp) => {
    for (let i = 0; i < 300 && !re.test(s.log); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    match(s.log, re);
  };
  const stop = async (s: ReturnType<typeof start>) => {
    try {
      s.proc.kill("SIGTERM");
    } catch { /* exited */ }
    const timer = setTimeout(() => {
      try {
        s.proc.kill("SIGKILL");
      } catch { /* exited */ }
    }, 15_000);
    await s.proc.status;
    clearTimeout(timer);
    await s.done.catch(() => {});
  };
  let server: ReturnType<typeof start> | undefined;
  try {
    ok(await needsFormat(e0), "unformatted before start");
    server = start();
    await waitListening(addr, port, server.proc);
    await waitLog(
      server,
      /--auto-format flag set on server start so formatting storage now \(engines 0\)/,
    );
    // The tmpfs is mounted before the superblock is written: wait for the superblock.
    const mnt = e0.scm!.scmMount;
    let sb = await readSuperblock(mnt).catch(() => null);
    for (let i = 0; i < 150 && !sb; i++) {
      await new Promise((r) => setTimeout(r, 200));
      sb = await readSuperblock(mnt).catch(() => null);
    }
    equal(await needsFormat(e0), null, "formatted by --auto-format");
    ok(sb, "superblock written");
    await stop(server);

    // Started again: already formatted, nothing is redone (same superblock).
    server = start();
    await waitListening(addr, port, server.proc);
    await waitLog(server, /--auto-format: storage already formatted, nothing to do/);
    await stop(server);
    server = undefined;
    equal((await readSuperblock(mnt))!.uuid, sb!.uuid);
  } finally {
    if (server) await stop(server);
    await f.cleanup();
  }
});

Deno.test("daos_server config generate on this host writes a config that validates", async () => {
  const g = await daosServer("config", "generate", "-e", "1", "-c", "ethernet", "-t", "-s");
  equal(g.code, 0, g.stderr);
  match(g.stdout, /^name: daos_server\nport: 10001\n/);
  const dir = await Deno.makeTempDir({ prefix: "dsrv-gen-" });
  try {
    await Deno.writeTextFile(`${dir}/daos_server.yml`, g.stdout);
    const v = await daosServer("config", "validate", "-o", `${dir}/daos_server.yml`);
    equal(v.code, 0, v.stdout + v.stderr);
    match(v.stdout, /configuration .*daos_server\.yml is valid\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
