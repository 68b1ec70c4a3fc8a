import { equal, ok } from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { Fault } from "../fault.ts";
import { connectionFailure, SERVER_REQUIRES_TLS, tlsFailure } from "./conn_errors.ts";

/** A transport error as connect-node reports it: a ConnectError caused by a Node error. */
function wire(code: string | undefined, message: string, grpc = Code.Internal): ConnectError {
  const cause = Object.assign(new Error(message), code ? { code } : {});
  return new ConnectError(message, grpc, undefined, undefined, cause);
}

const secure = {
  secure: true,
  paths: { caCert: "/etc/daos/certs/daosCA.crt", cert: "/c/admin.crt" },
};

Deno.test("tlsFailure: each TLS problem names the cause, the host and the fix", () => {
  const cases: [ConnectError, number, string][] = [
    [
      wire("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate"),
      903,
      "the certificate of the server at h:1 is not signed by the configured CA " +
      "(/etc/daos/certs/daosCA.crt): use the CA certificate that signed the servers' " +
      "certificates as ca_cert, or re-issue the server certificate from this CA",
    ],
    [
      wire(undefined, "Server certificate does not identify as Server"),
      903,
      "Server certificate does not identify as Server (the server at h:1 presented a " +
      'certificate whose CN is not "server"): configure the server with its server ' +
      "certificate (CN server, e.g. server.crt from gen_certificates.sh)",
    ],
    [
      wire("ERR_SSL_WRONG_VERSION_NUMBER", "received corrupt message of type InvalidContentType"),
      900,
      "the server at h:1 does not use TLS (it runs with allow_insecure: true): use --insecure " +
      "/ set transport_config.allow_insecure: true, or configure the server with certificates",
    ],
    [
      wire("ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", "received fatal alert: CertificateRequired"),
      900,
      "the server at h:1 requires a client certificate and none was sent: set " +
      "transport_config.cert and key to a certificate signed by the servers' CA",
    ],
    [
      wire(
        "ECONNRESET",
        "Client network socket disconnected before secure TLS connection was established",
        Code.Aborted,
      ),
      900,
      "the server at h:1 refused the TLS handshake, most likely this client's certificate " +
      "(/c/admin.crt): use a client certificate signed by the CA the server trusts (its " +
      "ca_cert), with the clientAuth key usage",
    ],
    [
      wire("CERT_HAS_EXPIRED", "certificate has expired"),
      903,
      "invalid certificate: the certificate of the server at h:1 has expired or is not valid " +
      "yet: re-issue the server certificate and check the clocks of client and server",
    ],
  ];
  for (const [err, code, description] of cases) {
    const f = tlsFailure(err, "h:1", secure);
    ok(f instanceof Fault, `${err.rawMessage}: no fault`);
    equal(f.domain, "security");
    equal(f.code, code, err.rawMessage);
    equal(f.description, description);
    ok(f.resolution !== "" && description.endsWith(f.resolution), "fix also as resolution");
  }
});

Deno.test("tlsFailure: plain-text client meeting a TLS server; nothing TLS about others", () => {
  const insecure = { secure: false };
  const f = tlsFailure(wire(SERVER_REQUIRES_TLS, "h:1 answered with TLS"), "h:1", insecure);
  equal(
    f?.description,
    "the server at h:1 requires TLS: remove --insecure / set transport_config.allow_insecure: " +
      "false and configure certificates",
  );
  // TLS texts mean nothing to a plain-text client, and plain errors nothing to TLS.
  equal(
    tlsFailure(wire("CERT_HAS_EXPIRED", "certificate has expired"), "h:1", insecure),
    undefined,
  );
  equal(tlsFailure(wire("ECONNREFUSED", "connect ECONNREFUSED"), "h:1", secure), undefined);
  equal(tlsFailure(wire("ECONNRESET", "read ECONNRESET"), "h:1", secure), undefined);
  // connectionFailure checks TLS first, then the DAOS client faults.
  equal(connectionFailure(wire("ECONNREFUSED", "connect ECONNREFUSED"), "h:1", secure)?.code, 506);
  equal(
    connectionFailure(wire("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify"), "h:1", secure)
      ?.code,
    903,
  );
  // Without paths the CA is simply not named.
  equal(
    tlsFailure(wire(undefined, "unable to verify the first certificate"), "h:1", { secure: true })
      ?.description.startsWith(
        "the certificate of the server at h:1 is not signed by the " +
          "configured CA: ",
      ),
    true,
  );
});

Deno.test("tlsFailure: a client without a certificate knows why the server closed", () => {
  // The server judges client certificates after the handshake and closes without an alert.
  const closed = wire(
    "ECONNRESET",
    "Client network socket disconnected before secure TLS connection was established",
    Code.Aborted,
  );
  equal(
    tlsFailure(closed, "h:1", { secure: true, clientCert: false })?.description,
    "the server at h:1 requires a client certificate and none was sent: set " +
      "transport_config.cert and key to a certificate signed by the servers' CA",
  );
  equal(
    tlsFailure(closed, "h:1", { ...secure, clientCert: true })?.description,
    "the server at h:1 refused the TLS handshake, most likely this client's certificate " +
      "(/c/admin.crt): use a client certificate signed by the CA the server trusts (its " +
      "ca_cert), with the clientAuth key usage",
  );
});
