/**
 * `dmg support collect-log` against two real daos_server processes on 127.0.0.[6-7]: one
 * archive and index per host with the control log, the redacted config and the scans; the
 * config's fabric_auth_key appears in no archive member; --archive bundles the folder.
 */
import { equal, ok } from "node:assert/strict";
import { archiveMembers, assertHostArchive } from "../util/support_archive.ts";
import {
  freePort,
  runDmg,
  spawnServer,
  type TestServer,
  waitListening,
  writeServerConfig,
} from "./ctl_servers.ts";

const ADDRS = ["127.0.0.6", "127.0.0.7"];
const SECRET = "ITSASECRETAUTHKEY42";

Deno.test("dmg support collect-log over two real servers: archives, members, no secret", async () => {
  const root = await Deno.makeTempDir({ prefix: "collect-log-test-" });
  const port = freePort(ADDRS);
  const servers: TestServer[] = [];
  try {
    for (const addr of ADDRS) {
      const dir = `${root}/${addr}`;
      const socketDir = `${dir}/sock`;
      await Deno.mkdir(socketDir, { recursive: true });
      const configPath = await writeServerConfig(dir, addr, port, socketDir);
      await Deno.writeTextFile(
        configPath,
        `control_log_file: ${dir}/control.log\nfabric_auth_key: ${SECRET}\n`,
        { append: true },
      );
      const { proc, stderr } = spawnServer(configPath);
      servers.push({ addr, port, dir, configPath, socketDir, proc, stderr });
    }
    await Promise.all(servers.map((s) => waitListening(s.addr, s.port, s.proc)));
    const cfg = `${root}/daos_control.yml`;
    await Deno.writeTextFile(cfg, `port: ${port}\nhostlist: [${ADDRS[0]}]\n`);
    const out = `${root}/collected`;
    const r = await runDmg([
      "-o",
      cfg,
      "-i",
      "-l",
      ADDRS.join(","),
      "-j",
      "support",
      "collect-log",
      "--target-folder",
      out,
      "--archive",
    ]);
    equal(r.code, 0, r.stderr + r.stdout);
    const env = JSON.parse(r.stdout);
    equal(env.response.hosts.length, 2);
    for (const h of env.response.hosts as { host: string; archive: string }[]) {
      const tar = await archiveMembers(h.archive);
      assertHostArchive(tar, h.host, SECRET);
      const log = new TextDecoder().decode(tar.get(`${h.host}/logs/control.log`));
      ok(log.length > 0, "control log collected");
      const conf = new TextDecoder().decode(tar.get(`${h.host}/config/daos_server.yml`));
      ok(conf.includes("fabric_auth_key: <redacted>"), conf);
    }
    ok((await Deno.stat(`${root}/collected.tar.gz`)).isFile);
  } finally {
    for (const s of servers) {
      try {
        s.proc.kill("SIGKILL");
      } catch { /* already exited */ }
      await s.proc.status;
      await s.stderr.catch(() => "");
    }
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
