/**
 * The control port's mutual TLS and component checks, in process over real sockets with
 * certificates from scripts/gen-certs.sh: the access table per certificate CN, header/cert
 * component agreement, version rules (616/617), refused handshakes (no client certificate,
 * another CA) and the client's server-CN check.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { Fault } from "../../control/lib/fault.ts";
import { connectionFailure } from "../../control/lib/rpc/conn_errors.ts";
import { decodeRemoteError, toWireError } from "../../control/lib/rpc/error_codec.ts";
import { securityInterceptor } from "../../control/lib/rpc/security_interceptor.ts";
import type { TlsMaterial } from "../../control/lib/rpc/security_certs.ts";
import {
  type ControlListener,
  listenControl,
  SERVER_IDENTITY_ERROR,
  TransportPool,
  type TransportSecurity,
  TransportUnsupportedError,
} from "../../control/lib/rpc/transport.ts";
import type { Component } from "../../control/lib/rpc/security_authz.ts";
import { CertDirs } from "./tls_fixture.ts";

/** Turns thrown faults into their wire form, as control_server's interceptor does. */
const wire: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (e) {
    throw toWireError(e);
  }
};

interface Served {
  l: ControlListener;
  calls: string[];
  headers: string[];
}

/** A listener whose handlers count the calls that got through. */
async function serve(
  security: TransportSecurity,
  refused: string[] = [],
): Promise<Served> {
  const calls: string[] = [];
  const headers: string[] = [];
  // Innermost: sees only calls that passed the checks, with the DAOS headers they carried.
  const record: Interceptor = (next) => (req) => {
    headers.push(`${req.header.get("x-daos-component")}/${req.header.get("x-daos-version")}`);
    return next(req);
  };
  const l = await listenControl({
    onHandshakeError: (m) => refused.push(m),
    host: "127.0.0.1",
    port: 0,
    security,
    routes: (r) => {
      r.service(CtlSvc, {
        storageScan: () => (calls.push("StorageScan"), {}),
        stopRanks: () => (calls.push("StopRanks"), {}),
      });
      r.service(MgmtSvc, {
        systemQuery: () => (calls.push("SystemQuery"), {}),
        join: () => (calls.push("Join"), {}),
      });
    },
    interceptors: [wire, securityInterceptor({ secure: !security.allowInsecure }), record],
  });
  return { l, calls, headers };
}

function setVersion(v: string): Interceptor {
  return (next) => (req) => {
    req.header.set("x-daos-version", v);
    return next(req);
  };
}

/** Runs `fn` with clients of one pool, closing it afterwards. */
async function withPool<T>(
  opts: { security: TransportSecurity; component?: Component; interceptors?: Interceptor[] },
  target: string,
  fn: (ctl: ReturnType<typeof ctlClient>, mgmt: ReturnType<typeof mgmtClient>) => Promise<T>,
): Promise<T> {
  const pool = new TransportPool(opts);
  try {
    return await fn(ctlClient(pool, target), mgmtClient(pool, target));
  } finally {
    pool.close();
  }
}
const ctlClient = (p: TransportPool, t: string) => createClient(CtlSvc, p.get(t));
const mgmtClient = (p: TransportPool, t: string) => createClient(MgmtSvc, p.get(t));

function secure(tls: TlsMaterial): TransportSecurity {
  return { allowInsecure: false, tls };
}

async function denied(p: Promise<unknown>, message: string): Promise<void> {
  await rejects(p, (e) => {
    const ce = ConnectError.from(e);
    equal(ce.code, Code.PermissionDenied, ce.message);
    equal(ce.rawMessage, message);
    return true;
  });
}

Deno.test("mTLS: each certificate component gets exactly its methods", async () => {
  const certs = await CertDirs.create();
  let srv: Served | undefined;
  try {
    const [server, admin, agent] = await Promise.all(
      ["server", "admin", "agent"].map((n) => certs.load(certs.good, n)),
    );
    srv = await serve(secure(server));
    const { l, calls } = srv;

    await withPool({ security: secure(admin) }, l.address, async (ctl, mgmt) => {
      await ctl.storageScan({});
      await mgmt.systemQuery({ sys: "daos_server" });
      await denied(
        ctl.stopRanks({}),
        "admin does not have permission to call /ctl.CtlSvc/StopRanks",
      );
      await denied(mgmt.join({}), "admin does not have permission to call /mgmt.MgmtSvc/Join");
    });
    await withPool({ security: secure(agent) }, l.address, async (ctl) => {
      await denied(
        ctl.storageScan({}),
        "agent does not have permission to call /ctl.CtlSvc/StorageScan",
      );
    });
    await withPool({ security: secure(server) }, l.address, async (ctl, mgmt) => {
      await ctl.stopRanks({});
      await mgmt.join({});
      await denied(
        ctl.storageScan({}),
        "server does not have permission to call /ctl.CtlSvc/StorageScan",
      );
    });
    equal(calls.join(","), "StorageScan,SystemQuery,StopRanks,Join");
    // Pools without an explicit component send their certificate's CN and our version.
    deepEqual(srv.headers, [
      "admin/2.9.100",
      "admin/2.9.100",
      "server/2.9.100",
      "server/2.9.100",
    ]);

    // The header component must be the certificate's.
    await withPool({ security: secure(admin), component: "server" }, l.address, async (ctl) => {
      await denied(ctl.storageScan({}), 'component mismatch (req: "server" != cert: "admin")');
    });
    // Versions: same major.minor passes, another minor is fault 616.
    const v = (ver: string) => ({ security: secure(admin), interceptors: [setVersion(ver)] });
    await withPool(v("2.9.0"), l.address, (ctl) => ctl.storageScan({}));
    await withPool(v("2.8.0"), l.address, async (ctl) => {
      const err = await ctl.storageScan({}).then(() => undefined, decodeRemoteError);
      ok(err instanceof Fault, String(err));
      equal(err.code, 616);
      equal(err.description, "components server:2.9.100 and admin:2.8.0 are not compatible");
    });
    equal(calls.length, 5, "no denied call reached a handler");
  } finally {
    await srv?.l.close();
    await certs.remove();
  }
});

/** Waits (bounded) until `list` has `n` entries: the server may learn of a refusal last. */
async function awaitEntries(list: string[], n: number): Promise<void> {
  for (let i = 0; i < 500 && list.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  equal(list.length, n, `expected ${n} server report(s), got ${JSON.stringify(list)}`);
}

Deno.test("mTLS: refused client certificates: the client's fault and the server's reason", async () => {
  const certs = await CertDirs.create();
  let srv: Served | undefined;
  try {
    const g = certs.good;
    const server = await certs.load(g, "server");
    const admin = await certs.load(g, "admin");
    const foreign = await certs.load(certs.other, "admin");
    const dated = (name: string): TlsMaterial => ({
      ...admin,
      cert: Deno.readTextFileSync(`${g}/${name}.crt`),
      key: Deno.readTextFileSync(`${g}/${name}.key`),
    });
    const refused: string[] = [];
    srv = await serve(
      {
        allowInsecure: false,
        tls: server,
        paths: { caCert: `${g}/daosCA.crt`, cert: "", key: "" },
      },
      refused,
    );
    const target = srv.l.address;
    const ca = `${g}/daosCA.crt`;
    const peer = "TLS handshake with 127\\.0\\.0\\.1:\\d+ refused";
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const refusedByServer =
      `the server at ${target} refused the TLS handshake, most likely this client's ` +
      "certificate: use a client certificate signed by the CA the server trusts (its ca_cert), " +
      "with the clientAuth key usage";
    const cases: [string, TlsMaterial, string, string][] = [
      [
        "no client certificate",
        { ...admin, cert: "", key: "" },
        `the server at ${target} requires a client certificate and none was sent: set ` +
        "transport_config.cert and key to a certificate signed by the servers' CA",
        `(NO_CERTIFICATE): no client certificate was sent: set transport_config.cert and key ` +
        `of the client to a certificate signed by the CA in ${ca}`,
      ],
      [
        "client certificate from another CA",
        { ...foreign, ca: admin.ca },
        refusedByServer,
        "(UNABLE_TO_VERIFY_LEAF_SIGNATURE): the client certificate (CN admin) is not signed " +
        `by the CA in ${ca} but by another CA that is also named "DAOS CA": give the client a ` +
        "certificate signed by this server's CA, or configure the server with the client's CA",
      ],
      [
        "expired client certificate",
        dated("expired"),
        refusedByServer,
        "(CERT_HAS_EXPIRED): the client certificate (CN admin) has expired (valid until " +
        `Jan  2 00:00:00 2020 GMT): re-issue it from the CA in ${ca} and check the clocks of ` +
        "client and server",
      ],
      [
        "client certificate not valid yet",
        dated("future"),
        refusedByServer,
        "(CERT_NOT_YET_VALID): the client certificate (CN admin) is not valid yet (valid from " +
        "Jan  1 00:00:00 2099 GMT): check the clocks of client and server, or re-issue it " +
        "with a start date in the past",
      ],
    ];
    for (const [i, [what, tls, clientText, serverText]] of cases.entries()) {
      const pool = new TransportPool({ security: secure(tls), component: "admin" });
      try {
        const err = await ctlClient(pool, target).storageScan({}).then(() => undefined, (e) => e);
        ok(err !== undefined, `${what}: the call succeeded`);
        const f = connectionFailure(err, target, pool.connContext);
        ok(f instanceof Fault, `${what}: no connection fault for ${err}`);
        equal(f.description, clientText, what);
      } finally {
        pool.close();
      }
      await awaitEntries(refused, i + 1);
      match(refused[i], new RegExp(`^${peer} ${escape(serverText)}$`), what);
    }
    // Their CA entirely: the client refuses our server before the server sees a certificate.
    await withPool({ security: secure(foreign) }, target, async (ctl) => {
      const err = await ctl.storageScan({}).then(() => undefined, (e) => e);
      const f = connectionFailure(err, target, { secure: true });
      equal(
        f?.description,
        `the certificate of the server at ${target} is not signed by the configured CA: ` +
          "use the CA certificate that signed the servers' certificates as ca_cert, or " +
          "re-issue the server certificate from this CA",
        String(err),
      );
    });
    equal(srv.calls.length, 0, "no refused handshake reached a handler");
    // Plain h2c to a TLS port is named as such.
    await withPool(
      { security: { allowInsecure: true }, component: "admin" },
      target,
      async (ctl) => {
        const err = await ctl.storageScan({}).then(() => undefined, (e) => e);
        const f = connectionFailure(err, target, { secure: false });
        equal(`${f?.domain}:${f?.code}`, "security:900", String(err));
        equal(
          f?.description,
          `the server at ${target} requires TLS: remove --insecure / set ` +
            "transport_config.allow_insecure: false and configure certificates",
        );
      },
    );
    equal(srv.calls.length, 0);
    // A good certificate still gets through on the same listener.
    await withPool({ security: secure(admin) }, target, (ctl) => ctl.storageScan({}));
    deepEqual(srv.calls, ["StorageScan"]);
  } finally {
    await srv?.l.close();
    await certs.remove();
  }
});

Deno.test("mTLS: a client refuses a CA-signed server certificate whose CN is not server", async () => {
  const certs = await CertDirs.create();
  let srv: Served | undefined;
  try {
    const impostor = await certs.load(certs.good, "impostor");
    equal(impostor.commonName, "admin");
    const admin = await certs.load(certs.good, "admin");
    srv = await serve(secure(impostor));
    await withPool({ security: secure(admin) }, srv.l.address, async (ctl) => {
      await rejects(ctl.storageScan({}), (e) => {
        ok(String(e).includes(SERVER_IDENTITY_ERROR), String(e));
        return true;
      });
    });
    equal(srv.calls.length, 0);
  } finally {
    await srv?.l.close();
    await certs.remove();
  }
});

Deno.test("insecure: no access table, versions from headers (616) or sys (617)", async () => {
  const srv = await serve({ allowInsecure: true });
  try {
    const target = srv.l.address;
    const insecure: TransportSecurity = { allowInsecure: true };
    // Any component may call anything.
    await withPool({ security: insecure, component: "admin" }, target, async (ctl, mgmt) => {
      await ctl.stopRanks({});
      await mgmt.join({});
    });
    // Header versions follow the interop rules: agent within 2 minors, admin same minor.
    const hdr = (component: Component, ver: string) => ({
      security: insecure,
      component,
      interceptors: [setVersion(ver)],
    });
    await withPool(hdr("agent", "2.7.3"), target, (ctl) => ctl.storageScan({}));
    for (const [component, ver] of [["agent", "2.6.0"], ["admin", "2.8.0"]] as const) {
      await withPool(hdr(component, ver), target, async (ctl) => {
        const err = await ctl.storageScan({}).then(() => undefined, decodeRemoteError);
        ok(err instanceof Fault && err.code === 616, `${component} ${ver}: ${err}`);
      });
    }
    // A component name that is none of ours is incompatible even at our version.
    const unknownComponent: Interceptor = (next) => (req) => {
      req.header.set("x-daos-component", "engine");
      return next(req);
    };
    await withPool(
      { security: insecure, component: "admin", interceptors: [unknownComponent] },
      target,
      async (ctl) => {
        const err = await ctl.storageScan({}).then(() => undefined, decodeRemoteError);
        ok(err instanceof Fault, String(err));
        equal(err.description, "components server:2.9.100 and unknown:2.9.100 are not compatible");
      },
    );
    // No headers: a sys version suffix must match exactly.
    await withPool({ security: insecure }, target, async (_ctl, mgmt) => {
      await mgmt.systemQuery({ sys: "daos_server-2.9.100" });
      await mgmt.systemQuery({ sys: "daos_server" });
      const err = await mgmt.systemQuery({ sys: "daos_server-2.9.99" }).then(
        () => undefined,
        decodeRemoteError,
      );
      ok(err instanceof Fault, String(err));
      equal(err.code, 617);
      equal(err.description, "versions 2.9.100 and 2.9.99 are not compatible in insecure mode");
    });
    // Half a header pair is rejected, naming the missing header.
    const halfHeaders: Interceptor = (next) => (req) => {
      req.header.set("x-daos-component", "admin");
      return next(req);
    };
    await withPool({ security: insecure, interceptors: [halfHeaders] }, target, async (ctl) => {
      await rejects(ctl.storageScan({}), (e) => {
        equal(ConnectError.from(e).code, Code.InvalidArgument);
        match(ConnectError.from(e).rawMessage, /x-daos-version missing/);
        return true;
      });
    });
  } finally {
    await srv.l.close();
  }
});

Deno.test("a secure pool without certificates refuses every target, naming the fix", () => {
  const pool = new TransportPool({ security: { allowInsecure: false }, component: "server" });
  let thrown: unknown;
  try {
    pool.get("127.0.0.1:1");
  } catch (e) {
    thrown = e;
  }
  ok(thrown instanceof TransportUnsupportedError);
  match(thrown.message, /needs certificates: load transport_config with loadTransportSecurity/);
  equal(pool.size, 0);
});
