/**
 * Test certificates: the §7.1 layout from scripts/gen-certs.sh (EC keys, fast), plus certs
 * made with openssl for the negative cases (a server-capable cert with another CN, a second
 * CA). Everything lives under one temp dir that remove() deletes.
 */
import { MaxPerm, type TlsMaterial } from "../../control/lib/rpc/security_certs.ts";
import { loadTlsMaterial } from "../../control/lib/rpc/security_certs.ts";

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

  /** Creates both sets and, in good/, `impostor.crt` (CN admin, serverAuth). */
  static async create(): Promise<CertDirs> {
    const root = await Deno.makeTempDir({ prefix: "tls-test-" });
    const dirs = new CertDirs(root);
    try {
      await genCerts(dirs.good);
      await genCerts(dirs.other);
      await signLeaf(dirs.good, dirs.good, "impostor", "admin", "serverAuth, clientAuth");
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
