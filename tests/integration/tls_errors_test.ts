/**
 * What a client reports when TLS is misconfigured or a host is silent, over real sockets with
 * certificates from scripts/gen-certs.sh: per-host security faults naming the host, the cause
 * and the fix (fan-out and dmg), and a TLS host that never handshakes cut by the connect
 * timeout instead of the request deadline.
 */
import { equal, match, ok } from "node:assert/strict";
import * as net from "node:net";
import { create } from "@bufbuild/protobuf";
import { type CallOptions, createClient, type Transport } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { NetworkScanRespSchema } from "../../proto/gen/ts/ctl/network_pb.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { LeaderQueryRespSchema } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import { Fault } from "../../control/lib/fault.ts";
import { fanOut } from "../../control/lib/rpc/fanout.ts";
import { msRequest } from "../../control/lib/rpc/ms_request.ts";
import type { CertPaths, TlsMaterial } from "../../control/lib/rpc/security_certs.ts";
import {
  type ControlListener,
  listenControl,
  TransportPool,
  type TransportSecurity,
} from "../../control/lib/rpc/transport.ts";
import { silentListener } from "../../control/lib/rpc/silent_listener_test_util.ts";
import { speaksTls } from "../../control/lib/rpc/client_dial.ts";
import { CertDirs } from "./tls_fixture.ts";

const top = new URL("../../", import.meta.url).pathname;
const scan = (t: Transport, o: CallOptions) => createClient(CtlSvc, t).networkScan({}, o);

function paths(dir: string, name: string): CertPaths {
  return { caCert: `${dir}/daosCA.crt`, cert: `${dir}/${name}.crt`, key: `${dir}/${name}.key` };
}

function secure(tls: TlsMaterial, p?: CertPaths): TransportSecurity {
  return { allowInsecure: false, tls, paths: p };
}

function serve(security: TransportSecurity): Promise<ControlListener> {
  return listenControl({
    host: "127.0.0.1",
    port: 0,
    security,
    routes: (r) => {
      r.service(CtlSvc, { networkScan: () => create(NetworkScanRespSchema, { numacount: 7 }) });
      r.service(MgmtSvc, {
        leaderQuery: () => create(LeaderQueryRespSchema, { currentLeader: "L" }),
      });
    },
  });
}

/** The per-host fault of one fan-out call from a pool with `security`. */
async function hostFault(security: TransportSecurity, target: string): Promise<Fault> {
  const pool = new TransportPool({ security, component: "admin" });
  try {
    const [r] = await fanOut(pool, [target], scan, {
      deadline: Date.now() + 20_000,
      name: "NetworkScan",
    });
    ok(r.error instanceof Fault, `expected a fault, got ${r.error ?? "an answer"}`);
    return r.error;
  } finally {
    pool.close();
  }
}

Deno.test("TLS misconfigurations are per-host security faults naming cause and fix", async () => {
  const certs = await CertDirs.create();
  const listeners: ControlListener[] = [];
  try {
    const [server, admin, foreign, impostor] = await Promise.all([
      certs.load(certs.good, "server"),
      certs.load(certs.good, "admin"),
      certs.load(certs.other, "admin"),
      certs.load(certs.good, "impostor"),
    ]);
    const tlsSrv = await serve(secure(server));
    const impSrv = await serve(secure(impostor));
    const plainSrv = await serve({ allowInsecure: true });
    listeners.push(tlsSrv, impSrv, plainSrv);
    const t = tlsSrv.address;

    const cases: [string, TransportSecurity, string, number, string][] = [
      [
        "insecure client, TLS server",
        { allowInsecure: true },
        t,
        900,
        `the server at ${t} requires TLS: remove --insecure / set ` +
        "transport_config.allow_insecure: false and configure certificates",
      ],
      [
        "TLS client, plain-text server",
        secure(admin, paths(certs.good, "admin")),
        plainSrv.address,
        900,
        `the server at ${plainSrv.address} does not use TLS (it runs with allow_insecure: ` +
        "true): use --insecure / set transport_config.allow_insecure: true, or configure the " +
        "server with certificates",
      ],
      [
        "server certificate from another CA",
        secure(foreign, paths(certs.other, "admin")),
        t,
        903,
        `the certificate of the server at ${t} is not signed by the configured CA ` +
        `(${certs.other}/daosCA.crt): use the CA certificate that signed the servers' ` +
        "certificates as ca_cert, or re-issue the server certificate from this CA",
      ],
      [
        "server certificate CN not server",
        secure(admin, paths(certs.good, "admin")),
        impSrv.address,
        903,
        `Server certificate does not identify as Server (the server at ${impSrv.address} ` +
        'presented a certificate whose CN is not "server"): configure the server with its ' +
        "server certificate (CN server, e.g. server.crt from gen_certificates.sh)",
      ],
      [
        "no client certificate",
        secure({ ...admin, cert: "", key: "" }),
        t,
        900,
        `the server at ${t} requires a client certificate and none was sent: set ` +
        "transport_config.cert and key to a certificate signed by the servers' CA",
      ],
      [
        "client certificate from another CA",
        secure({ ...foreign, ca: admin.ca }, paths(certs.other, "admin")),
        t,
        900,
        `the server at ${t} refused the TLS handshake, most likely this client's certificate ` +
        `(${certs.other}/admin.crt): use a client certificate signed by the CA the server ` +
        "trusts (its ca_cert), with the clientAuth key usage",
      ],
    ];
    for (const [what, security, target, code, description] of cases) {
      const f = await hostFault(security, target);
      equal(f.description, description, what);
      equal(`${f.domain}:${f.code}`, `security:${code}`, what);
    }
    // The well-configured client still gets its answer.
    const pool = new TransportPool({ security: secure(admin) });
    try {
      const [ok1] = await fanOut(pool, [t], scan, { deadline: Date.now() + 20_000, name: "x" });
      equal(ok1.response?.numacount, 7);
    } finally {
      pool.close();
    }
  } finally {
    for (const l of listeners) await l.close();
    await certs.remove();
  }
});

Deno.test("TLS: a host that accepts but never handshakes is a connect timeout; MS requests move on", async () => {
  const certs = await CertDirs.create();
  const silent = await silentListener();
  let srv: ControlListener | undefined;
  const pool = new TransportPool({
    security: secure(await certs.load(certs.good, "admin")),
    connectTimeoutMs: 300,
  });
  try {
    srv = await serve(secure(await certs.load(certs.good, "server")));
    const res = await fanOut(pool, [silent.address, srv.address], scan, {
      deadline: Date.now() + 60_000,
      name: "NetworkScan",
    });
    const err = res[0].error;
    ok(err instanceof Fault, String(err));
    equal(err.description, `the connection to the server at ${silent.address} timed out`);
    equal(res[1].response?.numacount, 7);
    // An MS request with a silent and a healthy candidate answers without the silent one.
    const resp = await msRequest(pool, (t, o) => createClient(MgmtSvc, t).leaderQuery({}, o), {
      hosts: [silent.address, srv.address],
      explicit: true,
      deadline: Date.now() + 60_000,
      name: "LeaderQuery",
      signal: AbortSignal.timeout(20_000),
    });
    equal(resp.currentLeader, "L");
  } finally {
    pool.close();
    await srv?.close();
    await silent.close();
    await certs.remove();
  }
});

/**
 * A front for a TLS listener that passes TLS handshakes through and closes any other
 * connection without a byte: the TLS server's alert lost in a reset, made deterministic.
 */
async function tlsOnlyFront(backend: string): Promise<{ address: string; close(): Promise<void> }> {
  const [host, port] = backend.split(":");
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    open.add(client);
    client.on("close", () => open.delete(client));
    client.on("error", () => {});
    client.once("data", (first: Uint8Array) => {
      if (first[0] !== 0x16) return void client.destroy();
      const up = net.connect({ host, port: Number(port) }, () => {
        up.write(first);
        client.pipe(up).pipe(client);
      });
      open.add(up);
      up.on("close", () => (open.delete(up), client.destroy()));
      up.on("error", () => {});
      client.on("close", () => up.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

Deno.test("insecure client: a TLS server that closes without a byte is still named as TLS", async () => {
  const certs = await CertDirs.create();
  let srv: ControlListener | undefined;
  let front: Awaited<ReturnType<typeof tlsOnlyFront>> | undefined;
  let plain: ControlListener | undefined;
  const refused = await silentListener();
  try {
    srv = await serve(secure(await certs.load(certs.good, "server")));
    front = await tlsOnlyFront(srv.address);
    plain = await serve({ allowInsecure: true });
    const gone = refused.address;
    await refused.close();
    // The probe: TLS for the server (which demands a client certificate) and its front, not
    // for a plain-text server or a closed port.
    equal(await speaksTls(srv.address, 5_000), true);
    equal(await speaksTls(front.address, 5_000), true);
    equal(await speaksTls(plain.address, 5_000), false);
    equal(await speaksTls(gone, 5_000), false);
    const f = await hostFault({ allowInsecure: true }, front.address);
    equal(f.code, 900);
    equal(
      f.description,
      `the server at ${front.address} requires TLS: remove --insecure / set ` +
        "transport_config.allow_insecure: false and configure certificates",
    );
    // A plain-text server still answers through the same check.
    const pool = new TransportPool({ security: { allowInsecure: true } });
    try {
      const [r] = await fanOut(pool, [plain.address], scan, {
        deadline: Date.now() + 20_000,
        name: "NetworkScan",
      });
      equal(r.response?.numacount, 7);
    } finally {
      pool.close();
    }
  } finally {
    await front?.close();
    await srv?.close();
    await plain?.close();
    await certs.remove();
  }
});

async function dmg(args: string[]) {
  const out = await new Deno.Command(`${top}bin/dmg`, { args, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("dmg: --insecure against a TLS server and a foreign CA say what to fix", async () => {
  const certs = await CertDirs.create();
  let srv: ControlListener | undefined;
  try {
    srv = await serve(secure(await certs.load(certs.good, "server")));
    const addr = srv.address;
    const port = addr.split(":")[1];
    // A client config with the other CA's admin set: the server is not signed by its CA.
    const cfg = `${certs.root}/daos_control.yml`;
    const p = paths(certs.other, "admin");
    await Deno.writeTextFile(
      cfg,
      `name: daos_server\nport: ${port}\nhostlist: ["127.0.0.1"]\ntransport_config:\n` +
        `  allow_insecure: false\n  ca_cert: ${p.caCert}\n  cert: ${p.cert}\n  key: ${p.key}\n`,
    );
    const q = await dmg(["-i", "-o", cfg, "system", "query"]);
    equal(q.code, 1);
    equal(
      q.stderr,
      `ERROR: dmg: system query failed: security: code = 900 description = "the server at ` +
        `${addr} requires TLS: remove --insecure / set transport_config.allow_insecure: false ` +
        `and configure certificates"\nERROR: dmg: security: code = 900 resolution = "remove ` +
        `--insecure / set transport_config.allow_insecure: false and configure certificates"\n`,
    );
    const s = await dmg(["-o", cfg, "network", "scan"]);
    equal(s.code, 1);
    match(
      s.stdout + s.stderr,
      new RegExp(
        `the certificate of the server at ${addr} is not signed by the configured CA ` +
          `\\(${p.caCert}\\)`,
      ),
    );
  } finally {
    await srv?.close();
    await certs.remove();
  }
});
