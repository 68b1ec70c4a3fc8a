/**
 * bin/daos_server in secure mode (transport_config.allow_insecure: false) with certificates
 * from scripts/gen-certs.sh, and bin/dmg / control clients against it: admin scans work,
 * agent and foreign certificates are refused, server-only methods are refused for admin,
 * an impostor server certificate is refused by dmg, and bad certificate files stop both
 * programs at start with faults 901/903 or the permission error.
 */
import { equal, match, ok } from "node:assert/strict";
import { boundedStatus } from "../cluster/bounded.ts";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { TransportPool } from "../../control/lib/rpc/transport.ts";
import { freePort, runDmg, spawnServer, waitListening } from "./ctl_servers.ts";
import { CertDirs } from "./tls_fixture.ts";

const ADDR = "127.0.0.1";

interface Files {
  caCert: string;
  cert: string;
  key: string;
  clientCertDir?: string;
}

/** A running secure daos_server; stop() kills it (SIGKILL unless told) and returns its log. */
interface Running {
  port: number;
  stop(signal?: Deno.Signal): Promise<string>;
}

async function writeServerConfig(dir: string, port: number, tc: Files): Promise<string> {
  await Deno.mkdir(`${dir}/sock`, { recursive: true });
  const path = `${dir}/daos_server.yml`;
  await Deno.writeTextFile(
    path,
    [
      "name: daos_server",
      `port: ${port}`,
      `control_address: ${ADDR}`,
      // Another address is the MS replica: this server needs no MS database.
      `mgmt_svc_replicas: ["127.0.0.2:${port}"]`,
      "transport_config:",
      "  allow_insecure: false",
      `  ca_cert: ${tc.caCert}`,
      `  cert: ${tc.cert}`,
      `  key: ${tc.key}`,
      `  client_cert_dir: ${tc.clientCertDir ?? tc.caCert.replace(/[^/]*$/, "clients")}`,
      `socket_dir: ${dir}/sock`,
      "engines: []",
      "",
    ].join("\n"),
  );
  return path;
}

async function startServer(dir: string, tc: Files): Promise<Running> {
  const port = freePort([ADDR]);
  const { proc, stderr } = spawnServer(await writeServerConfig(dir, port, tc));
  const stop = async (signal: Deno.Signal = "SIGKILL") => {
    try {
      proc.kill(signal);
    } catch { /* already exited */ }
    await proc.status;
    return await stderr.catch(() => "");
  };
  try {
    await waitListening(ADDR, port, proc);
  } catch (e) {
    throw new Error(`${e}: ${await stop()}`);
  }
  return { port, stop };
}

/** Writes a daos_control.yml for `port` with these client files; returns its path. */
async function dmgConfig(path: string, port: number, tc: Files): Promise<string> {
  await Deno.writeTextFile(
    path,
    [
      `port: ${port}`,
      `hostlist: [${ADDR}]`,
      "transport_config:",
      `  ca_cert: ${tc.caCert}`,
      `  cert: ${tc.cert}`,
      `  key: ${tc.key}`,
      "",
    ].join("\n"),
  );
  return path;
}

function files(dir: string, name: string, caDir = dir): Files {
  return { caCert: `${caDir}/daosCA.crt`, cert: `${dir}/${name}.crt`, key: `${dir}/${name}.key` };
}

Deno.test("secure daos_server: admin scans; agent, foreign CA, server-only methods refused", async () => {
  const certs = await CertDirs.create();
  let server: Running | undefined;
  try {
    const g = certs.good;
    server = await startServer(`${certs.root}/srv`, files(g, "server"));
    const cfg = (name: string, tc: Files) =>
      dmgConfig(`${certs.root}/${name}.yml`, server!.port, tc);

    const admin = await cfg("admin", files(g, "admin"));
    const scan = await runDmg(["-o", admin, "storage", "scan"]);
    equal(scan.code, 0, scan.stderr);
    match(scan.stdout, /^Hosts +SCM Total +NVMe Total +\n-+ +-+ +-+ +\n127\.0\.0\.1 +\d/);
    const net = await runDmg(["-o", admin, "network", "scan"]);
    equal(net.code, 0, net.stderr);
    match(net.stdout, /127\.0\.0\.1/);

    const agent = await runDmg(["-o", await cfg("agent", files(g, "agent")), "storage", "scan"]);
    equal(agent.code, 1);
    ok(
      agent.stderr.includes(
        "rpc error: code = PermissionDenied desc = agent does not have permission to call " +
          "/ctl.CtlSvc/StorageScan",
      ),
      agent.stderr,
    );

    // A complete set from another CA: dmg cannot verify the server.
    const foreign = await runDmg([
      "-o",
      await cfg("foreign", files(certs.other, "admin")),
      "storage",
      "scan",
    ]);
    equal(foreign.code, 1);
    match(foreign.stderr, /127\.0\.0\.1 .*(verify|certificate)/);
    equal(foreign.stdout, "");

    // No certificates at all: dmg -i speaks h2c, which the TLS port does not answer.
    const plain = await runDmg(["-i", "-o", admin, "storage", "scan"]);
    equal(plain.code, 1);
    equal(plain.stdout, "");
    ok(
      plain.stderr.includes(
        `\n  127.0.0.1 the server at ${ADDR}:${server.port} requires TLS: remove --insecure / ` +
          "set transport_config.allow_insecure: false and configure certificates \n",
      ),
      plain.stderr,
    );
    ok(plain.stderr.endsWith("\nERROR: dmg: 1 host had errors\n"), plain.stderr);

    // Server-only methods, called with the admin certificate, are refused; the server's
    // own certificate passes the access check.
    const target = `${ADDR}:${server.port}`;
    const adminTls = await certs.load(g, "admin");
    const pool = new TransportPool({ security: { allowInsecure: false, tls: adminTls } });
    try {
      const ctl = createClient(CtlSvc, pool.get(target));
      const mgmt = createClient(MgmtSvc, pool.get(target));
      const calls: [string, () => Promise<unknown>][] = [
        ["/ctl.CtlSvc/PrepShutdownRanks", () => ctl.prepShutdownRanks({})],
        ["/ctl.CtlSvc/StopRanks", () => ctl.stopRanks({})],
        ["/ctl.CtlSvc/StartRanks", () => ctl.startRanks({})],
        ["/ctl.CtlSvc/ResetFormatRanks", () => ctl.resetFormatRanks({})],
        ["/mgmt.MgmtSvc/Join", () => mgmt.join({ sys: "daos_server" })],
      ];
      for (const [method, call] of calls) {
        const err = await call().then(() => undefined, (e) => ConnectError.from(e));
        equal(err?.code, Code.PermissionDenied, `${method}: ${err}`);
        equal(err?.rawMessage, `admin does not have permission to call ${method}`);
      }
    } finally {
      pool.close();
    }
    const serverPool = new TransportPool({
      security: { allowInsecure: false, tls: await certs.load(g, "server") },
    });
    try {
      const err = await createClient(CtlSvc, serverPool.get(target)).stopRanks({}).then(
        () => undefined,
        (e) => ConnectError.from(e),
      );
      // Past the access check, the handler itself answers (and refuses the empty rank list).
      equal(err?.code, Code.Unknown, String(err));
      equal(err?.rawMessage, "no ranks specified in request");
    } finally {
      serverPool.close();
    }
  } finally {
    await server?.stop();
    await certs.remove();
  }
});

Deno.test("daos_server logs why it refused a client certificate, with the peer address", async () => {
  const certs = await CertDirs.create();
  let server: Running | undefined;
  try {
    const g = certs.good;
    server = await startServer(`${certs.root}/srv`, files(g, "server"));
    const target = `${ADDR}:${server.port}`;
    const admin = await certs.load(g, "admin");
    // Certificates loadTlsMaterial would refuse, handed over directly as a careless or
    // hostile client would present them.
    const dated = (name: string) => ({
      ...admin,
      cert: Deno.readTextFileSync(`${g}/${name}.crt`),
      key: Deno.readTextFileSync(`${g}/${name}.key`),
    });
    const foreign = await certs.load(certs.other, "admin");
    const clients = [dated("expired"), dated("future"), { ...foreign, ca: admin.ca }];
    for (const tls of clients) {
      const pool = new TransportPool({ security: { allowInsecure: false, tls } });
      try {
        const err = await createClient(CtlSvc, pool.get(target)).storageScan({}).then(
          () => undefined,
          (e) => ConnectError.from(e),
        );
        equal(
          err?.rawMessage,
          "Client network socket disconnected before secure TLS connection was established",
        );
      } finally {
        pool.close();
      }
    }
    // A graceful stop, so that every log line written so far reaches stderr.
    const log = await server.stop("SIGTERM");
    server = undefined;
    const ca = `${g}/daosCA.crt`;
    const lines = log.split("\n").filter((l) => /TLS handshake with \S+ refused/.test(l));
    equal(lines.length, 3, log);
    const expect = [
      "(CERT_HAS_EXPIRED): the client certificate (CN admin) has expired (valid until " +
      `Jan  2 00:00:00 2020 GMT): re-issue it from the CA in ${ca} and check the clocks of ` +
      "client and server",
      "(CERT_NOT_YET_VALID): the client certificate (CN admin) is not valid yet (valid from " +
      "Jan  1 00:00:00 2099 GMT): check the clocks of client and server, or re-issue it with " +
      "a start date in the past",
      "(UNABLE_TO_VERIFY_LEAF_SIGNATURE): the client certificate (CN admin) is not signed by " +
      `the CA in ${ca} but by another CA that is also named "DAOS CA": give the client a ` +
      "certificate signed by this server's CA, or configure the server with the client's CA",
    ];
    for (const [i, text] of expect.entries()) {
      const at = lines[i].indexOf("TLS handshake with ");
      ok(
        at >= 0 && /^TLS handshake with 127\.0\.0\.1:\d+ refused /.test(lines[i].slice(at)),
        lines[i],
      );
      ok(lines[i].endsWith(` refused ${text}`), `${lines[i]}\n  should end with: ${text}`);
    }
    ok(!log.includes("socket hang up"), log);
  } finally {
    await server?.stop();
    await certs.remove();
  }
});

Deno.test("dmg refuses a CA-signed server certificate whose CN is not server", async () => {
  const certs = await CertDirs.create();
  let server: Running | undefined;
  try {
    const g = certs.good;
    server = await startServer(`${certs.root}/srv`, files(g, "impostor"));
    const admin = await dmgConfig(`${certs.root}/admin.yml`, server.port, files(g, "admin"));
    const r = await runDmg(["-o", admin, "storage", "scan"]);
    equal(r.code, 1);
    ok(r.stderr.includes("Server certificate does not identify as Server"), r.stderr);
    equal(r.stdout, "");
  } finally {
    await server?.stop();
    await certs.remove();
  }
});

Deno.test("bad certificate files stop daos_server and dmg before any connection", async () => {
  const certs = await CertDirs.create();
  try {
    const g = certs.good;
    // daos_server: a missing key (901), a world-readable key, a file that is no certificate.
    const loose = `${certs.root}/loose.key`;
    await Deno.copyFile(`${g}/server.key`, loose);
    await Deno.chmod(loose, 0o644);
    const garbage = `${certs.root}/garbage.crt`;
    await Deno.writeTextFile(garbage, "not a certificate\n");
    const cases: [Files, RegExp][] = [
      [
        { ...files(g, "server"), key: `${certs.root}/none.key` },
        /code = 901 description = "certificates are enabled, but .*\/none\.key was not found"/,
      ],
      [
        { ...files(g, "server"), key: loose },
        /loose\.key has insecure permissions 0644 \(suggested: 0400\): run chmod 0400 /,
      ],
      [
        { ...files(g, "server"), cert: garbage },
        /code = 903 description = "certificate at path ".*garbage\.crt" is invalid/,
      ],
      [
        { ...files(g, "server"), clientCertDir: `${certs.root}/no-clients` },
        /code = 901 description = "certificates are enabled, but .*\/no-clients was not found"/,
      ],
      [
        { ...files(g, "server"), clientCertDir: `${g}/admin.crt` },
        /code = 903 .*client_cert_dir .*admin\.crt is not a directory/,
      ],
    ];
    for (const [i, [tc, re]] of cases.entries()) {
      const dir = `${certs.root}/bad${i}`;
      const port = freePort([ADDR]);
      const { proc, stderr } = spawnServer(await writeServerConfig(dir, port, tc));
      const status = await boundedStatus(proc, `daos_server refusing config ${i}`);
      const text = await stderr;
      equal(status.code, 1, text);
      match(text, re);
    }

    // dmg: the same checks, reported as "Unable to load Certificate Data", admin key 0440 ok.
    const adminKey = `${certs.root}/admin-group.key`;
    await Deno.copyFile(`${g}/admin.key`, adminKey);
    await Deno.chmod(adminKey, 0o440);
    const ok440 = await dmgConfig(`${certs.root}/ok440.yml`, 1, {
      ...files(g, "admin"),
      key: adminKey,
    });
    const r440 = await runDmg(["-o", ok440, "-l", `${ADDR}:1`, "storage", "scan"]);
    equal(r440.code, 1);
    match(r440.stderr, /the server at 127\.0\.0\.1:1 refused the connection/);

    await Deno.chmod(adminKey, 0o644);
    const loose440 = await dmgConfig(`${certs.root}/loose.yml`, 1, {
      ...files(g, "admin"),
      key: adminKey,
    });
    const rl = await runDmg(["-o", loose440, "storage", "scan"]);
    equal(rl.code, 1);
    match(
      rl.stderr,
      /^ERROR: dmg: Unable to load Certificate Data: .*admin-group\.key has insecure permissions 0644 \(suggested: 0440\)/,
    );
    const foreignCa = await dmgConfig(`${certs.root}/mixed.yml`, 1, files(g, "admin", certs.other));
    const rm = await runDmg(["-o", foreignCa, "storage", "scan"]);
    equal(rm.code, 1);
    match(
      rm.stderr,
      /^ERROR: dmg: Unable to load Certificate Data: security: code = 903 .*admin\.crt" is invalid: not signed by the CA in /,
    );
  } finally {
    await certs.remove();
  }
});
