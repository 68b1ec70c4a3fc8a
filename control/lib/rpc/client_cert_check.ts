/**
 * Why the control port refused a client's certificate, in words an operator can act on.
 *
 * Deno's TLS server, asked to reject unverified clients, drops the connection with nothing
 * but "socket hang up", and when it lets the handshake finish it reports every failure as
 * UNABLE_TO_VERIFY_LEAF_SIGNATURE. The listener therefore lets the handshake finish, closes
 * every unverified connection itself, and names the cause found here: no certificate, expired,
 * not yet valid, or not signed by this server's CA (the OpenSSL verify codes, as dmg names
 * them on its side).
 */
import { X509Certificate } from "node:crypto";

/** A verdict on a client certificate: the OpenSSL-style code and a sentence with the fix. */
export interface ClientCertProblem {
  code:
    | "NO_CERTIFICATE"
    | "CERT_HAS_EXPIRED"
    | "CERT_NOT_YET_VALID"
    | "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
    | "UNPARSABLE_CERTIFICATE"
    | "DEPTH_ZERO_SELF_SIGNED_CERT"
    | "INVALID_PURPOSE"
    | string;
  text: string;
}

function commonName(dn: string): string {
  for (const line of dn.split("\n")) if (line.startsWith("CN=")) return line.slice(3);
  return "";
}

/** All certificates of a PEM bundle (the configured ca_cert may hold several). */
function parseBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  const out: X509Certificate[] = [];
  for (const b of blocks) {
    try {
      out.push(new X509Certificate(b));
    } catch { /* a bad CA block was refused at load time; skip it here */ }
  }
  return out;
}

function selfSigned(cert: X509Certificate): boolean {
  try {
    return cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

/** DER of the extendedKeyUsage extension's OID (2.5.29.37) and of id-kp-clientAuth. */
const EKU_OID = [0x06, 0x03, 0x55, 0x1d, 0x25];
const CLIENT_AUTH_OID = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

function contains(der: Uint8Array, needle: number[]): boolean {
  outer: for (let i = 0; i + needle.length <= der.length; i++) {
    for (let j = 0; j < needle.length; j++) if (der[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * Has the certificate an extended key usage without clientAuth? (Deno's X509Certificate has no
 * EKU accessor, so the DER is searched; a stray match only changes the wording, not the verdict.)
 */
function lacksClientAuth(der: Uint8Array): boolean {
  return contains(der, EKU_OID) && !contains(der, CLIENT_AUTH_OID);
}

/**
 * Diagnoses the client certificate `raw` (DER, undefined when none was sent) against the
 * server's CA bundle `caPem` at `now`. `fallback` is the TLS layer's own code, used when none
 * of the checks here finds the fault (e.g. a key usage the TLS layer refused). `caPath` is
 * named in the fix when known.
 */
export function diagnoseClientCert(
  raw: Uint8Array | undefined,
  caPem: string,
  opts: { now?: Date; fallback?: string; caPath?: string } = {},
): ClientCertProblem {
  const now = opts.now ?? new Date();
  const caName = opts.caPath ? `the CA in ${opts.caPath}` : "this server's CA (ca_cert)";
  if (raw === undefined || raw.length === 0) {
    return {
      code: "NO_CERTIFICATE",
      text: "no client certificate was sent: set transport_config.cert and key of the client " +
        `to a certificate signed by ${caName}`,
    };
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(raw);
  } catch (e) {
    return {
      code: "UNPARSABLE_CERTIFICATE",
      text: `the client certificate cannot be parsed (${(e as Error).message}): re-issue it ` +
        `from ${caName}`,
    };
  }
  const who = `the client certificate (CN ${commonName(cert.subject) || "none"})`;
  if (cert.issuer === cert.subject && selfSigned(cert)) {
    return {
      code: "DEPTH_ZERO_SELF_SIGNED_CERT",
      text: `${who} is self-signed: give the client a certificate signed by ${caName}`,
    };
  }
  const cas = parseBundle(caPem);
  const signed = cas.some((ca) => {
    try {
      return cert.checkIssued(ca) && cert.verify(ca.publicKey);
    } catch {
      return false;
    }
  });
  if (!signed) {
    const issuer = commonName(cert.issuer) || cert.issuer.replaceAll("\n", ", ");
    // gen-certs.sh names every CA "DAOS CA": say so when the name alone looks right.
    const sameName = cas.some((ca) => commonName(ca.subject) === issuer);
    const by = sameName ? `another CA that is also named "${issuer}"` : `"${issuer}"`;
    return {
      code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      text: `${who} is not signed by ${caName} but by ${by}: give the client a ` +
        "certificate signed by this server's CA, or configure the server with the client's CA",
    };
  }
  if (now > new Date(cert.validTo)) {
    return {
      code: "CERT_HAS_EXPIRED",
      text: `${who} has expired (valid until ${cert.validTo}): re-issue it from ${caName} ` +
        "and check the clocks of client and server",
    };
  }
  if (now < new Date(cert.validFrom)) {
    return {
      code: "CERT_NOT_YET_VALID",
      text: `${who} is not valid yet (valid from ${cert.validFrom}): check the clocks of ` +
        "client and server, or re-issue it with a start date in the past",
    };
  }
  if (lacksClientAuth(raw)) {
    return {
      code: "INVALID_PURPOSE",
      text: `${who} is not meant for clients (its extended key usage lacks clientAuth): ` +
        `re-issue it from ${caName} with extendedKeyUsage clientAuth`,
    };
  }
  const code = opts.fallback || "UNABLE_TO_VERIFY_LEAF_SIGNATURE";
  return {
    code,
    text: `${who} was not accepted by the TLS layer (${code}): check that it carries the ` +
      `clientAuth extended key usage and is signed by ${caName}`,
  };
}
