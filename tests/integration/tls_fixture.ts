/**
 * Test certificates: the §7.1 layout from scripts/gen-certs.sh (EC keys, fast), plus certs
 * made with openssl for the negative cases (a server-capable cert with another CN, a second
 * CA). Everything lives under one temp dir that remove() deletes.
 */
import { MaxPerm, type TlsMaterial } from "../../control/lib/rpc/security_certs.ts";
import { loadTlsMaterial } from "../../control/lib/rpc/security_certs.ts";
import type { LocalCluster } from "../cluster/local_cluster.ts";

const top = new URL("../../", import.meta.url).pathname;
export const GEN_CERTS = `${top}scripts/gen-certs.sh`;

async function run(cmd: string, args: string[], cwd?: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdin: "null" }).output();
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Runs scripts/gen-certs.sh --ec into `dir`. */
export async function genCerts(dir: string): Promise<void> {
  await run("bash", [GEN_CERTS, "--ec", dir]);
}

/**
 * Writes `<name>.crt`/`<name>.key` into `dir`, CN `cn`, signed by `caDir`'s CA, with the given
 * extended key usage (a leaf gen-certs.sh would not make).
 */
export async function signLeaf(
  caDir: string,
  dir: string,
  name: string,
  cn: string,
  eku: string,
): Promise<void> {
  const key = `${dir}/${name}.key`;
  await run("openssl", [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    key,
  ]);
  await Deno.chmod(key, 0o400);
  await Deno.writeTextFile(`${dir}/${name}.ext`, `extendedKeyUsage = ${eku}\n`);
  await run("openssl", [
    "req",
    "-new",
    "-key",
    key,
    "-subj",
    `/O=DAOS/CN=${cn}`,
    "-out",
    `${dir}/${name}.csr`,
  ]);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    `${dir}/${name}.csr`,
    "-CA",
    `${caDir}/daosCA.crt`,
    "-CAkey",
    `${caDir}/daosCA.key`,
    "-CAcreateserial",
    "-CAserial",
    `${dir}/${name}.srl`,
    "-days",
    "2",
    "-extfile",
    `${dir}/${name}.ext`,
    "-out",
    `${dir}/${name}.crt`,
  ]);
}

/**
 * Writes `<name>.crt`/`<name>.key` into `dir` like signLeaf, but valid only from `notBefore`
 * to `notAfter` (openssl's `YYMMDDHHMMSSZ` form): expired or not-yet-valid certificates,
 * which `openssl x509 -req` cannot make (`openssl ca` can).
 */
export async function signLeafDated(
  caDir: string,
  dir: string,
  name: string,
  cn: string,
  eku: string,
  notBefore: string,
  notAfter: string,
): Promise<void> {
  const key = `${dir}/${name}.key`;
  const work = `${dir}/${name}.ca`;
  await Deno.mkdir(work, { recursive: true });
  await Deno.writeTextFile(`${work}/index.txt`, "");
  await Deno.writeTextFile(`${work}/serial`, "01\n");
  await Deno.writeTextFile(
    `${work}/ca.cnf`,
    [
      "[ca]",
      "default_ca = dated",
      "[dated]",
      `database = ${work}/index.txt`,
      `new_certs_dir = ${work}`,
      `serial = ${work}/serial`,
      "default_md = sha256",
      "policy = any",
      "unique_subject = no",
      "x509_extensions = leaf",
      "[any]",
      "organizationName = optional",
      "commonName = supplied",
      "[leaf]",
      `extendedKeyUsage = ${eku}`,
      "",
    ].join("\n"),
  );
  await run("openssl", [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    key,
  ]);
  await Deno.chmod(key, 0o400);
  await run("openssl", [
    "req",
    "-new",
    "-key",
    key,
    "-subj",
    `/O=DAOS/CN=${cn}`,
    "-out",
    `${work}/req.csr`,
  ]);
  await run("openssl", [
    "ca",
    "-batch",
    "-notext",
    "-config",
    `${work}/ca.cnf`,
    "-cert",
    `${caDir}/daosCA.crt`,
    "-keyfile",
    `${caDir}/daosCA.key`,
    "-startdate",
    notBefore,
    "-enddate",
    notAfter,
    "-in",
    `${work}/req.csr`,
    "-out",
    `${dir}/${name}.crt`,
  ]);
}

/** A temp dir with `good/` (gen-certs.sh), `other/` (a second CA's set) and extras. */
export class CertDirs {
  private constructor(readonly root: string) {}

  /** Main set. */
  get good(): string {
    return `${this.root}/good`;
  }

  /** A complete set from an unrelated CA. */
  get other(): string {
    return `${this.root}/other`;
  }

  /**
   * Creates both sets and, in good/, `impostor.crt` (CN admin, serverAuth), `expired.crt` and
   * `future.crt` (CN admin, outside their validity now).
   */
  static async create(): Promise<CertDirs> {
    const root = await Deno.makeTempDir({ prefix: "tls-test-" });
    const dirs = new CertDirs(root);
    try {
      await genCerts(dirs.good);
      await genCerts(dirs.other);
      await signLeaf(dirs.good, dirs.good, "impostor", "admin", "serverAuth, clientAuth");
      // An admin certificate that expired in 2020 and one valid only from 2099.
      await signLeafDated(
        dirs.good,
        dirs.good,
        "expired",
        "admin",
        "clientAuth",
        "200101000000Z",
        "200102000000Z",
      );
      await signLeafDated(
        dirs.good,
        dirs.good,
        "future",
        "admin",
        "clientAuth",
        "20990101000000Z",
        "20990102000000Z",
      );
      return dirs;
    } catch (e) {
      await dirs.remove();
      throw e;
    }
  }

  /** Loads `<dir>/<name>.crt/.key` with `<dir>/daosCA.crt`. */
  load(dir: string, name: string): Promise<TlsMaterial> {
    return loadTlsMaterial(
      { caCert: `${dir}/daosCA.crt`, cert: `${dir}/${name}.crt`, key: `${dir}/${name}.key` },
      name === "admin" ? MaxPerm.groupKey : MaxPerm.userOnlyKey,
    );
  }

  /** Deletes everything. */
  async remove(): Promise<void> {
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}

const INSECURE = "transport_config:\n  allow_insecure: true\n";

/** Turns the fixture's insecure configs into secure ones using the certificates in `dir`. */
export async function secureConfigs(c: LocalCluster, dir: string): Promise<void> {
  const block = (name: string, extra: string[] = []) =>
    [
      "transport_config:",
      "  allow_insecure: false",
      `  ca_cert: ${dir}/daosCA.crt`,
      `  cert: ${dir}/${name}.crt`,
      `  key: ${dir}/${name}.key`,
      ...extra,
      "",
    ].join("\n");
  const paths: [string, string][] = [
    ...c.servers.map((s) =>
      [s.configPath, block("server", [`  client_cert_dir: ${dir}/clients`])] as [string, string]
    ),
    [c.dmgConfigPath, block("admin")],
  ];
  for (const [path, replacement] of paths) {
    const text = await Deno.readTextFile(path);
    if (!text.includes(INSECURE)) {
      throw new Error(`${path}: no insecure transport_config to replace`);
    }
    await Deno.writeTextFile(path, text.replace(INSECURE, replacement));
  }
}
