/**
 * loadTlsMaterial on real files from scripts/gen-certs.sh: what it accepts, and the fault or
 * error (naming the file) for each kind of bad input.
 */
import { equal, match, ok, rejects } from "node:assert/strict";
import { Fault } from "../../control/lib/fault.ts";
import {
  InsecurePermissionsError,
  loadTlsMaterial,
  MaxPerm,
} from "../../control/lib/rpc/security_certs.ts";
import { CertDirs } from "./tls_fixture.ts";

function faultCode(code: number, re: RegExp) {
  return (e: unknown) => {
    ok(e instanceof Fault, String(e));
    equal(e.code, code, e.message);
    equal(e.domain, "security");
    match(e.description, re);
    return true;
  };
}

Deno.test("loadTlsMaterial: the generated layout loads; each bad input is named", async () => {
  const certs = await CertDirs.create();
  try {
    const g = certs.good;
    const paths = (name: string) => ({
      caCert: `${g}/daosCA.crt`,
      cert: `${g}/${name}.crt`,
      key: `${g}/${name}.key`,
    });
    for (const name of ["server", "admin", "agent"]) {
      const m = await loadTlsMaterial(paths(name), MaxPerm.userOnlyKey);
      equal(m.commonName, name);
      match(m.ca, /BEGIN CERTIFICATE/);
      match(m.key, /PRIVATE KEY/);
    }
    // The layout's modes: keys 0400, certificates 0644, copies for client_cert_dir.
    equal((await Deno.stat(`${g}/server.key`)).mode! & 0o777, 0o400);
    equal((await Deno.stat(`${g}/daosCA.crt`)).mode! & 0o777, 0o644);
    ok((await Deno.stat(`${g}/clients/agent.crt`)).isFile);
    ok((await Deno.stat(`${g}/clients/admin.crt`)).isFile);

    await rejects(
      loadTlsMaterial({ ...paths("server"), caCert: `${g}/nope.crt` }, MaxPerm.userOnlyKey),
      faultCode(901, /^certificates are enabled, but .*\/nope\.crt was not found$/),
    );
    // Key of another certificate.
    await rejects(
      loadTlsMaterial({ ...paths("server"), key: `${g}/agent.key` }, MaxPerm.userOnlyKey),
      faultCode(903, /agent\.key" is invalid: the key does not belong to the certificate/),
    );
    // A leaf as CA.
    await rejects(
      loadTlsMaterial({ ...paths("server"), caCert: `${g}/admin.crt` }, MaxPerm.userOnlyKey),
      faultCode(903, /admin\.crt" is invalid: not a CA certificate/),
    );
    // Another CA.
    await rejects(
      loadTlsMaterial({ ...paths("server"), caCert: `${certs.other}/daosCA.crt` }, 0o400),
      faultCode(903, /server\.crt" is invalid: not signed by the CA in /),
    );
    // Outside the validity period.
    await rejects(
      loadTlsMaterial(paths("server"), MaxPerm.userOnlyKey, new Date("2200-01-01")),
      faultCode(903, /certificate has expired \(valid until /),
    );
    // Two certificates in one file; a directory; a certificate where the key should be.
    const two = `${certs.root}/two.crt`;
    await Deno.writeTextFile(
      two,
      (await Deno.readTextFile(`${g}/server.crt`)) + (await Deno.readTextFile(`${g}/admin.crt`)),
    );
    await rejects(
      loadTlsMaterial({ ...paths("server"), cert: two }, MaxPerm.userOnlyKey),
      faultCode(903, /only one certificate allowed per file/),
    );
    await rejects(
      loadTlsMaterial({ ...paths("server"), cert: `${g}/clients` }, MaxPerm.userOnlyKey),
      faultCode(903, /clients is not a regular file/),
    );
    const certAsKey = `${certs.root}/cert-as.key`;
    await Deno.copyFile(`${g}/server.crt`, certAsKey);
    await Deno.chmod(certAsKey, 0o400);
    await rejects(
      loadTlsMaterial({ ...paths("server"), key: certAsKey }, MaxPerm.userOnlyKey),
      faultCode(903, /does not contain a PEM private key/),
    );
    // Permissions: admin keys may be group-readable, server keys may not; certificates at
    // most 0664.
    const key = `${certs.root}/group.key`;
    await Deno.copyFile(`${g}/admin.key`, key);
    await Deno.chmod(key, 0o440);
    await loadTlsMaterial({ ...paths("admin"), key }, MaxPerm.groupKey);
    await rejects(loadTlsMaterial({ ...paths("admin"), key }, MaxPerm.userOnlyKey), (e) => {
      ok(e instanceof InsecurePermissionsError);
      equal(
        e.message,
        `${key} has insecure permissions 0440 (suggested: 0400): run chmod 0400 ${key}`,
      );
      return true;
    });
    const crt = `${certs.root}/open.crt`;
    await Deno.copyFile(`${g}/server.crt`, crt);
    await Deno.chmod(crt, 0o666);
    await rejects(
      loadTlsMaterial({ ...paths("server"), cert: crt }, MaxPerm.userOnlyKey),
      /open\.crt has insecure permissions 0666 \(suggested: 0664\)/,
    );
  } finally {
    await certs.remove();
  }
});

Deno.test("gen-certs.sh: refuses to overwrite and rejects bad usage", async () => {
  const certs = await CertDirs.create();
  try {
    const sh = new URL("../../scripts/gen-certs.sh", import.meta.url).pathname;
    const run = async (...args: string[]) => {
      const o = await new Deno.Command("bash", { args: [sh, ...args], stdin: "null" }).output();
      return { code: o.code, err: new TextDecoder().decode(o.stderr) };
    };
    const again = await run("--ec", certs.good);
    equal(again.code, 1);
    match(again.err, /daosCA\.crt already exists: remove it or choose another directory/);
    equal((await run()).code, 2);
    const bad = await run("--bogus", `${certs.root}/x`);
    equal(bad.code, 2);
    match(bad.err, /unknown option --bogus/);
  } finally {
    await certs.remove();
  }
});
