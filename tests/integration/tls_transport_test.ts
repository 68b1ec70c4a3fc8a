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

Deno.test("mTLS: handshakes without a client cert or from another CA are refused", async () => {
  const certs = await CertDirs.create();
  let srv: Served | undefined;
  try {
    const server = await certs.load(certs.good, "server");
    const admin = await certs.load(certs.good, "admin");
    const foreign = await certs.load(certs.other, "admin");
    const refused: string[] = [];
    srv = await serve(secure(server), refused);
    const target = srv.l.address;

    const noCert = { ...admin, cert: "", key: "" };
    await withPool({ security: secure(noCert), component: "admin" }, target, async (ctl) => {
      await rejects(ctl.storageScan({}), (e) => {
        match(String(e), /certificate/i);
        return true;
      });
    });
    // The server reports the refusal (it may learn of it just after the client).
    for (let i = 0; i < 200 && refused.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    match(refused[0] ?? "", /^TLS handshake with 127\.0\.0\.1 refused: .*certificate/i);
    // Our CA, their client certificate: the server refuses it.
    const mixed = { ...foreign, ca: admin.ca };
    await withPool({ security: secure(mixed) }, target, async (ctl) => {
      await rejects(ctl.storageScan({}), (e) => {
        match(String(e), /socket disconnected|certificate|alert/i);
        return true;
      });
    });
    // Their CA entirely: the client refuses our server.
    await withPool({ security: secure(foreign) }, target, async (ctl) => {
      await rejects(ctl.storageScan({}), (e) => {
        match(String(e), /verify|certificate/i);
        return true;
      });
    });
    equal(srv.calls.length, 0, "no refused handshake reached a handler");
    // Plain h2c to a TLS port fails too.
    await withPool(
      { security: { allowInsecure: true }, component: "admin" },
      target,
      (ctl) => rejects(ctl.storageScan({})),
    );
    equal(srv.calls.length, 0);
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
