/**
 * Loading the TLS material of one component (server.md §7.1, §1.4; dmg.md §2.2): CA, own
 * certificate and key, with DAOS's permission limits and fault codes 901–903, checked eagerly
 * at start so a bad file is reported before any connection is made.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { type Fault, makeFault, securityFault } from "../fault.ts";

/** Most permissive modes allowed (DAOS security/pem.go). */
export const MaxPerm = {
  /** Keys readable by the owner only (server, agent). */
  userOnlyKey: 0o400,
  /** Keys readable by the owner's group too (admin). */
  groupKey: 0o440,
  /** Certificates (CA included). */
  cert: 0o664,
} as const;

/** Paths of one component's TLS files (transport_config). */
export interface CertPaths {
  caCert: string;
  cert: string;
  key: string;
}

/** Loaded, verified TLS material, ready for node:tls options. */
export interface TlsMaterial {
  /** CA certificate PEM. */
  ca: string;
  /** Own certificate PEM. */
  cert: string;
  /** Own private key PEM. */
  key: string;
  /** CN of the own certificate (`server`, `admin`, `agent`). */
  commonName: string;
}

const RESOLUTION =
  "refer to the System Deployment section of the DAOS Admin Guide for information about " +
  "certificates (scripts/gen-certs.sh DIR generates a test set)";
const INVALID_RESOLUTION =
  "verify the certificates in the DAOS server, agent, and control configurations are valid, " +
  "are from the same CA, and are not expired";

/** Fault 901: a configured certificate file does not exist. */
export function missingCertFile(path: string): Fault {
  return makeFault(
    "SecurityMissingCertFile",
    `certificates are enabled, but ${path} was not found`,
    RESOLUTION,
  );
}

/** Fault 902: a configured certificate file exists but cannot be read. */
export function unreadableCertFile(path: string, cause?: unknown): Fault {
  return makeFault(
    "SecurityUnreadableCertFile",
    `certificates are enabled, ${path} was found, but its permissions are incorrect`,
    RESOLUTION,
    cause,
  );
}

/** Fault 903: the file's content is not a valid certificate/key (or does not fit the CA). */
export function invalidCertFile(path: string, reason: string): Fault {
  return securityFault(
    "SecurityInvalidCert",
    `certificate at path "${path}" is invalid: ${reason}`,
    INVALID_RESOLUTION,
  ).withReason(reason);
}

function octal(mode: number): string {
  return "0" + (mode & 0o777).toString(8);
}

/** The error for a file whose mode grants more than `max`, naming the fix. */
export class InsecurePermissionsError extends Error {
  constructor(readonly path: string, readonly mode: number, readonly max: number) {
    super(
      `${path} has insecure permissions ${octal(mode)} (suggested: ${octal(max)}): ` +
        `run chmod ${octal(max)} ${path}`,
    );
    this.name = "InsecurePermissionsError";
  }
}

/** Stats a certificate file or directory; missing → 901, not accessible → 902. */
async function statCertPath(path: string): Promise<Deno.FileInfo> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw missingCertFile(path);
    if (e instanceof Deno.errors.PermissionDenied) throw unreadableCertFile(path, e);
    throw e;
  }
}

/** Reads one PEM file after the existence, type and permission checks of DAOS's LoadPEMData. */
export async function readPemFile(path: string, maxPerm: number): Promise<string> {
  const info = await statCertPath(path);
  if (!info.isFile) throw invalidCertFile(path, `${path} is not a regular file`);
  const mode = info.mode ?? 0;
  if ((mode & 0o777 & ~maxPerm) !== 0) {
    throw new InsecurePermissionsError(path, mode, maxPerm);
  }
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied) throw unreadableCertFile(path, e);
    throw e;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Checks a `client_cert_dir` (server.md §1.4: must be readable if set): an existing directory
 * whose entries can be listed. 901 when missing, 903 when not a directory, 902 unreadable.
 */
export async function checkCertDir(path: string): Promise<void> {
  const info = await statCertPath(path);
  if (!info.isDirectory) {
    throw invalidCertFile(path, `client_cert_dir ${path} is not a directory`);
  }
  try {
    for await (const _ of Deno.readDir(path)) break;
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied) throw unreadableCertFile(path, e);
    throw e;
  }
}

/** Parses exactly one certificate; 903 otherwise. */
function parseCert(path: string, pem: string): X509Certificate {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  if (blocks === 0) throw invalidCertFile(path, `${path} does not contain PEM certificate data`);
  if (blocks > 1) throw invalidCertFile(path, "only one certificate allowed per file");
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw invalidCertFile(path, `cannot parse the certificate: ${message(e)}`);
  }
}

function parseKey(path: string, pem: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw invalidCertFile(path, `${path} does not contain a PEM private key`);
  }
  try {
    return createPrivateKey(pem);
  } catch (e) {
    throw invalidCertFile(path, `cannot parse the private key: ${message(e)}`);
  }
}

function checkValidity(path: string, cert: X509Certificate, now: Date): void {
  if (now < new Date(cert.validFrom)) {
    throw invalidCertFile(path, `certificate is not valid before ${cert.validFrom}`);
  }
  if (now > new Date(cert.validTo)) {
    throw invalidCertFile(path, `certificate has expired (valid until ${cert.validTo})`);
  }
}

/** The CN of a certificate subject ("O=DAOS\nCN=server" → "server"). */
export function subjectCommonName(cert: X509Certificate): string {
  for (const line of cert.subject.split("\n")) {
    if (line.startsWith("CN=")) return line.slice(3);
  }
  return "";
}

/**
 * Loads and verifies the CA, certificate and key at `paths`: files present (901), readable
 * (902), modes within DAOS's limits (key: `maxKeyPerm`), valid PEM, within their validity
 * period, the key matching the certificate and the certificate signed by the CA (903).
 */
export async function loadTlsMaterial(
  paths: CertPaths,
  maxKeyPerm: number,
  now = new Date(),
): Promise<TlsMaterial> {
  const caPem = await readPemFile(paths.caCert, MaxPerm.cert);
  const certPem = await readPemFile(paths.cert, MaxPerm.cert);
  const keyPem = await readPemFile(paths.key, maxKeyPerm);
  const ca = parseCert(paths.caCert, caPem);
  if (!ca.ca) throw invalidCertFile(paths.caCert, "not a CA certificate (CA:true missing)");
  checkValidity(paths.caCert, ca, now);
  const cert = parseCert(paths.cert, certPem);
  checkValidity(paths.cert, cert, now);
  const key = parseKey(paths.key, keyPem);
  if (!cert.checkPrivateKey(key)) {
    throw invalidCertFile(paths.key, `the key does not belong to the certificate ${paths.cert}`);
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw invalidCertFile(paths.cert, `not signed by the CA in ${paths.caCert}`);
  }
  return { ca: caPem, cert: certPem, key: keyPem, commonName: subjectCommonName(cert) };
}
