import { equal, match } from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { diagnoseClientCert } from "./client_cert_check.ts";
import { CertDirs, signLeaf } from "../../../tests/integration/tls_fixture.ts";

Deno.test("diagnoseClientCert names each cause with its fix", async () => {
  const certs = await CertDirs.create();
  try {
    const g = certs.good;
    const ca = Deno.readTextFileSync(`${g}/daosCA.crt`);
    const der = (dir: string, name: string) =>
      new Uint8Array(new X509Certificate(Deno.readTextFileSync(`${dir}/${name}.crt`)).raw);
    const at = (iso: string) => ({ now: new Date(iso), caPath: "/etc/daos/certs/daosCA.crt" });

    equal(diagnoseClientCert(undefined, ca).code, "NO_CERTIFICATE");
    equal(diagnoseClientCert(new Uint8Array(), ca).code, "NO_CERTIFICATE");
    const junk = diagnoseClientCert(new Uint8Array([1, 2, 3]), ca);
    equal(junk.code, "UNPARSABLE_CERTIFICATE");
    match(junk.text, /^the client certificate cannot be parsed \(.*\): re-issue it from /);

    const foreign = diagnoseClientCert(der(certs.other, "admin"), ca, at("2027-01-01T00:00:00Z"));
    equal(foreign.code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    equal(
      foreign.text,
      "the client certificate (CN admin) is not signed by the CA in /etc/daos/certs/daosCA.crt " +
        'but by another CA that is also named "DAOS CA": give the client a certificate signed ' +
        "by this server's CA, or configure the server with the client's CA",
    );
    // The signature is checked before the dates: a foreign expired certificate is foreign.
    equal(
      diagnoseClientCert(der(certs.other, "admin"), ca, at("2099-06-01T00:00:00Z")).code,
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    );
    equal(
      diagnoseClientCert(der(g, "expired"), ca, at("2026-01-01T00:00:00Z")).code,
      "CERT_HAS_EXPIRED",
    );
    equal(
      diagnoseClientCert(der(g, "future"), ca, at("2026-01-01T00:00:00Z")).code,
      "CERT_NOT_YET_VALID",
    );
    // Signed by the CA (just now) but for servers only; self-signed.
    const today = { caPath: "/etc/daos/certs/daosCA.crt" };
    await signLeaf(g, g, "srvonly", "admin", "serverAuth");
    const srvOnly = diagnoseClientCert(der(g, "srvonly"), ca, today);
    equal(srvOnly.code, "INVALID_PURPOSE");
    equal(
      srvOnly.text,
      "the client certificate (CN admin) is not meant for clients (its extended key usage lacks " +
        "clientAuth): re-issue it from the CA in /etc/daos/certs/daosCA.crt with " +
        "extendedKeyUsage clientAuth",
    );
    equal(
      diagnoseClientCert(der(g, "impostor"), ca, today).code,
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "serverAuth + clientAuth is a client certificate: the TLS layer's code is passed on",
    );
    const self = diagnoseClientCert(der(certs.other, "daosCA"), ca, today);
    equal(self.code, "DEPTH_ZERO_SELF_SIGNED_CERT");
    equal(
      self.text,
      "the client certificate (CN DAOS CA) is self-signed: give the client a certificate " +
        "signed by the CA in /etc/daos/certs/daosCA.crt",
    );
    // The same certificate inside its validity: the TLS layer's own code is passed on.
    const inside = diagnoseClientCert(der(g, "expired"), ca, {
      now: new Date("2020-01-01T12:00:00Z"),
      fallback: "INVALID_PURPOSE",
    });
    equal(inside.code, "INVALID_PURPOSE");
    match(inside.text, /\(INVALID_PURPOSE\): check that it carries the clientAuth extended key/);
  } finally {
    await certs.remove();
  }
});
