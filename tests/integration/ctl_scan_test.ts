/**
 * Real daos_server processes on 127.0.0.[1-3] plus an address without a server: dmg storage
 * and network scan fold the three identical hosts into one host set, report the fourth in the
 * Errors: block and exit non-zero; -j sets the envelope's error.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { boundedOutput, boundedStatus } from "../cluster/bounded.ts";
import { DAOS_SERVER, runDmg, ServerSet } from "./ctl_servers.ts";

const ADDRS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];

Deno.test("dmg storage/network scan over three servers and one dead address", async () => {
  const set = await ServerSet.start(ADDRS);
  try {
    const cfg = await set.dmgConfig();
    const base = ["-o", cfg, "-i", "-l", "127.0.0.[1-4]"];

    const text = await runDmg([...base, "storage", "scan"]);
    equal(text.code, 1, text.stderr);
    const lines = text.stdout.split("\n");
    match(lines[0], /^Hosts +SCM Total +NVMe Total +$/);
    match(lines[1], /^-----/);
    // One row for the three identical hosts, ports stripped, nothing else.
    match(lines[2], /^127\.0\.0\.\[1-3\] +0 B \(0 modules\) +0 B \(0 controllers\) +$/);
    deepEqual(lines.slice(3), [""]);
    const err = text.stderr.split("\n");
    equal(err[0], "ERROR: Errors:");
    match(err[1], /^ {2}Hosts +Error +$/);
    match(
      err[3],
      new RegExp(
        `^  127\\.0\\.0\\.4 +the server at 127\\.0\\.0\\.4:${set.port} refused the connection +$`,
      ),
    );
    ok(text.stderr.includes("ERROR: dmg: 1 host had errors\n"), text.stderr);

    const json = await runDmg([...base, "-j", "storage", "scan"]);
    equal(json.code, 1);
    const env = JSON.parse(json.stdout);
    equal(env.error, "1 host had errors");
    equal(env.status, -1025);
    deepEqual(env.response.host_errors, {
      [`client: code = 506 description = "the server at 127.0.0.4:${set.port} refused the connection"`]:
        `127.0.0.4:${set.port}`,
    });
    const groups = Object.values(env.response.HostStorage) as {
      hosts: string;
      storage: { mem_info: { mem_total_kb: number } };
    }[];
    equal(groups.length, 1);
    equal(groups[0].hosts, `127.0.0.[1-3]:${set.port}`);
    ok(groups[0].storage.mem_info.mem_total_kb > 0, "real /proc/meminfo reported");

    // Network scan: the Errors: block goes to stdout, then one host-set block.
    const net = await runDmg([...base, "network", "scan", "-p", "all"]);
    equal(net.code, 1);
    ok(net.stdout.startsWith("Errors:\n"), net.stdout);
    ok(net.stdout.includes("\n-------------\n127.0.0.[1-3]\n-------------\n\n"), net.stdout);
    match(net.stdout, /NUMA Socket 0/);
    match(net.stdout, /ofi\+tcp +.*\blo\b/);

    // Only the live hosts: success, exit 0.
    const ok3 = await runDmg(["-o", cfg, "-i", "-l", "127.0.0.[1-3]", "storage", "scan"]);
    equal(ok3.code, 0, ok3.stderr);
    equal(ok3.stderr, "");
  } finally {
    await set.stop();
  }
});

Deno.test("daos_server refuses a second server on the same socket dir or address; SIGTERM stops it", async () => {
  const set = await ServerSet.start(["127.0.0.5"]);
  try {
    const s = set.servers[0];
    // Same config: the socket directory is already claimed.
    const dup = await boundedOutput(DAOS_SERVER, {
      args: ["start", "-o", s.configPath],
      stdin: "null",
    });
    equal(dup.code, 1);
    const dupErr = new TextDecoder().decode(dup.stderr);
    match(
      dupErr,
      /general: code = 6 description = "Configured socket file '.*daos_server\.lock' is already in use/,
    );
    match(dupErr, /resolution = "stop the daos_server using this socket_dir/);

    // Another socket dir, same address and port: the bind fails with a clear message.
    const otherSock = `${s.dir}/sock2`;
    await Deno.mkdir(otherSock);
    const cfg2 = `${s.dir}/second.yml`;
    await Deno.writeTextFile(
      cfg2,
      (await Deno.readTextFile(s.configPath)).replace(/socket_dir: .*/, `socket_dir: ${otherSock}`),
    );
    const dup2 = await boundedOutput(DAOS_SERVER, {
      args: ["start", "-o", cfg2],
      stdin: "null",
    });
    equal(dup2.code, 1);
    match(
      new TextDecoder().decode(dup2.stderr),
      new RegExp(`control address 127\\.0\\.0\\.5:${set.port} is already in use`),
    );
    // The refused server released its claim on sock2.
    deepEqual([...Deno.readDirSync(otherSock)], []);

    s.proc.kill("SIGTERM");
    const st = await boundedStatus(s.proc, "daos_server after SIGTERM");
    equal(st.code, 0);
    match(await s.stderr, /received SIGTERM, shutting down/);
    deepEqual([...Deno.readDirSync(s.socketDir)], [], "lock socket removed on clean stop");
  } finally {
    await set.stop();
  }
});
