/**
 * Server-side building blocks of `dmg support collect-log`: config redaction, bounded and
 * path-checked file reads, the per-host index and a tar.gz writer.
 *
 * The reference (daos-stack/daos src/control/lib/support) copies logs and configs into a
 * folder; here each host packs them into one archive with an index so dmg can verify what
 * it received (sizes, sha256) and see what was truncated or failed.
 */
import { parse, stringify } from "yaml";

/** Replacement text for a redacted secret value. */
export const REDACTED = "<redacted>";

/** Default cap on one gathered file (bytes); the tail past it is dropped and noted. */
export const DEFAULT_FILE_CAP = 8 * 1024 * 1024;
/** Default cap on the total of one host's gathered files (bytes). */
export const DEFAULT_TOTAL_CAP = 64 * 1024 * 1024;

// Keys whose value is a file path to a certificate or key: the path is not the secret,
// the file content is, and the path helps debugging a TLS setup.
const PATH_KEYS = new Set(["key", "cert", "ca_cert", "client_cert_dir", "server_cert"]);

/** Whether a config key names a secret whose value must not leave the host. */
export function isSecretKey(key: string, value: unknown): boolean {
  const k = key.toLowerCase();
  if (PATH_KEYS.has(k) && typeof value === "string" && looksLikePath(value)) return false;
  if (k === "key" || k.endsWith("_key") || k.endsWith("-key")) return true;
  if (k.includes("password") || k.includes("passwd") || k.includes("secret")) return true;
  if (k.includes("auth") && !k.startsWith("allow")) return true;
  if (k === "token" || k.endsWith("_token")) return true;
  return false;
}

function looksLikePath(v: string): boolean {
  return v.startsWith("/") || v.startsWith("./") || v.startsWith("../");
}

/** Returns a deep copy of a parsed config with every secret value replaced by REDACTED. */
export function redactValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redactValue);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      out[k] = isSecretKey(k, x) && x !== null && x !== "" ? REDACTED : redactValue(x);
    }
    return out;
  }
  if (typeof v === "string") return redactEnvString(v);
  return v;
}

// env_vars entries are "NAME=value" strings; a secret-looking NAME hides its value.
function redactEnvString(s: string): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(s);
  if (m && m[2] !== "" && isSecretKey(m[1], m[2])) return `${m[1]}=${REDACTED}`;
  return s;
}

/**
 * Redacts a YAML server config. An unparsable config is not copied at all (it could hold a
 * secret in a shape the walker cannot see); the error says so.
 */
export function redactConfigYaml(text: string): string {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(
      `config is not valid YAML (${(e as Error).message.split("\n")[0]}); ` +
        "not collected so no secret leaks, fix the config file or collect it by hand",
    );
  }
  return stringify(redactValue(doc));
}

/** One file gathered into a host archive. */
export interface GatheredFile {
  /** Member name in the archive. */
  name: string;
  data: Uint8Array;
  /** Size of the source before truncation. */
  sourceSize: number;
  truncated: boolean;
}

/** Result of a bounded read. */
export interface CappedRead {
  data: Uint8Array;
  sourceSize: number;
  truncated: boolean;
}

/**
 * Reads at most `cap` bytes of `path`, refusing a symlink that resolves outside `allowedDir`
 * (a log dir must not become a way to read /etc/shadow) and anything that is not a regular file.
 */
export async function readCapped(
  path: string,
  allowedDir: string,
  cap: number,
): Promise<CappedRead> {
  const lst = await Deno.lstat(path);
  if (lst.isSymlink) {
    const real = await Deno.realPath(path);
    const base = await Deno.realPath(allowedDir);
    if (real !== base && !real.startsWith(base.endsWith("/") ? base : base + "/")) {
      throw new Error(
        `${path} is a symlink to ${real}, outside ${base}; not followed ` +
          "(replace the link with the log file itself to collect it)",
      );
    }
  }
  const st = await Deno.stat(path);
  if (!st.isFile) throw new Error(`${path} is not a regular file; not collected`);
  const f = await Deno.open(path, { read: true });
  try {
    const want = Math.min(st.size, cap);
    const buf = new Uint8Array(want);
    let off = 0;
    while (off < want) {
      const n = await f.read(buf.subarray(off));
      if (n === null) break;
      off += n;
    }
    return { data: buf.subarray(0, off), sourceSize: st.size, truncated: st.size > cap };
  } finally {
    f.close();
  }
}

/** One row of a host index. */
export interface IndexEntry {
  name: string;
  size: number;
  source_size: number;
  truncated: boolean;
  sha256: string;
}

/** Per-host index written next to (and inside) each archive. */
export interface HostIndex {
  host: string;
  collected_at: string;
  files: IndexEntry[];
  errors: { item: string; error: string }[];
  total_cap_reached: boolean;
}

/** Hex sha256 of some bytes. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data as BufferSource));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Accumulates gathered files under a total cap and records per-item errors. */
export class Collector {
  readonly files: GatheredFile[] = [];
  readonly errors: { item: string; error: string }[] = [];
  totalCapReached = false;
  #total = 0;

  constructor(readonly fileCap = DEFAULT_FILE_CAP, readonly totalCap = DEFAULT_TOTAL_CAP) {}

  /** Adds in-memory content (command output, redacted config) under the caps. */
  addData(name: string, data: Uint8Array): void {
    let d = data;
    let truncated = false;
    if (d.length > this.fileCap) {
      d = d.subarray(0, this.fileCap);
      truncated = true;
    }
    const room = this.totalCap - this.#total;
    if (room <= 0) {
      this.totalCapReached = true;
      this.errors.push({
        item: name,
        error: `skipped: total cap of ${this.totalCap} bytes reached`,
      });
      return;
    }
    if (d.length > room) {
      d = d.subarray(0, room);
      truncated = true;
      this.totalCapReached = true;
    }
    this.#total += d.length;
    this.files.push({ name, data: d, sourceSize: data.length, truncated });
  }

  /** Adds a file from disk, path-checked against `allowedDir`; failures go to the index. */
  async addFile(name: string, path: string, allowedDir: string): Promise<void> {
    try {
      const r = await readCapped(path, allowedDir, this.fileCap);
      const before = this.files.length;
      this.addData(name, r.data);
      if (this.files.length > before) {
        const f = this.files[this.files.length - 1];
        f.sourceSize = r.sourceSize;
        f.truncated = f.truncated || r.truncated;
      }
    } catch (e) {
      this.errors.push({ item: name, error: `${path}: ${(e as Error).message}` });
    }
  }

  /** Records a failed item (e.g. a scan that errored) without aborting the collection. */
  addError(item: string, err: unknown): void {
    this.errors.push({ item, error: err instanceof Error ? err.message : String(err) });
  }

  /** Builds the index for `host`. */
  async index(host: string, now = new Date()): Promise<HostIndex> {
    const files: IndexEntry[] = [];
    for (const f of this.files) {
      files.push({
        name: f.name,
        size: f.data.length,
        source_size: f.sourceSize,
        truncated: f.truncated,
        sha256: await sha256Hex(f.data),
      });
    }
    return {
      host,
      collected_at: now.toISOString(),
      files,
      errors: [...this.errors],
      total_cap_reached: this.totalCapReached,
    };
  }

  /** Packs files plus `index.json` under `<prefix>/` into a tar.gz. */
  async archive(host: string, prefix: string): Promise<{ tgz: Uint8Array; index: HostIndex }> {
    const index = await this.index(host);
    const members = this.files.map((f) => ({ name: `${prefix}/${f.name}`, data: f.data }));
    members.push({
      name: `${prefix}/index.json`,
      data: new TextEncoder().encode(JSON.stringify(index, null, 2) + "\n"),
    });
    return { tgz: await gzip(tarPack(members)), index };
  }
}

/** Writes a POSIX ustar archive of regular files (mode 0644, mtime now). */
export function tarPack(members: { name: string; data: Uint8Array }[]): Uint8Array {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  const mtime = Math.floor(Date.now() / 1000);
  for (const m of members) {
    const h = new Uint8Array(512);
    let name = m.name;
    let prefix = "";
    if (enc.encode(name).length > 100) {
      const cut = name.lastIndexOf("/", name.length - 1);
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
      if (enc.encode(name).length > 100 || enc.encode(prefix).length > 155) {
        throw new Error(`tar member name too long: ${m.name}`);
      }
    }
    const put = (s: string, off: number, len: number) => h.set(enc.encode(s).subarray(0, len), off);
    const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, "0") + "\0";
    put(name, 0, 100);
    put(oct(0o644, 8), 100, 8);
    put(oct(0, 8), 108, 8);
    put(oct(0, 8), 116, 8);
    put(oct(m.data.length, 12), 124, 12);
    put(oct(mtime, 12), 136, 12);
    put("        ", 148, 8);
    put("0", 156, 1);
    put("ustar\u000000", 257, 8);
    put(prefix, 345, 155);
    let sum = 0;
    for (const b of h) sum += b;
    put(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
    chunks.push(h, m.data);
    const pad = (512 - (m.data.length % 512)) % 512;
    if (pad) chunks.push(new Uint8Array(pad));
  }
  chunks.push(new Uint8Array(1024));
  return concat(chunks);
}

/** Lists the members of a ustar archive (name → data); used by tests and dmg's verification. */
export function tarList(tar: Uint8Array): Map<string, Uint8Array> {
  const dec = new TextDecoder();
  const out = new Map<string, Uint8Array>();
  let off = 0;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (o: number, l: number) => dec.decode(h.subarray(o, o + l)).replace(/\0.*$/s, "");
    const name = str(0, 100);
    const prefix = str(345, 155);
    const size = parseInt(str(124, 12).trim(), 8);
    const full = prefix ? `${prefix}/${name}` : name;
    out.set(full, tar.slice(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Concatenates byte arrays. */
export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** gzip-compresses bytes. */
export async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** gunzips bytes. */
export async function gunzip(data: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** Splits bytes into chunks of at most `size` (for streaming under the RPC message limit). */
export function chunked(data: Uint8Array, size: number): Uint8Array[] {
  if (size <= 0) throw new Error(`chunk size must be > 0, got ${size}`);
  const out: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += size) out.push(data.subarray(o, o + size));
  if (out.length === 0) out.push(new Uint8Array(0));
  return out;
}
