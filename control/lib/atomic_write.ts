/**
 * Crash-safe file replacement: a file is either the old one or the new one, never half written.
 */
import { dirname } from "node:path";

/** Options of {@link atomicWrite}. */
export interface AtomicWriteOptions {
  /** Mode of the new file, applied whatever the umask; default: the umask's. */
  mode?: number;
  /** Suffix of the temporary file beside the target; default ".tmp". */
  tempSuffix?: string;
}

async function fsyncPath(path: string): Promise<void> {
  const f = await Deno.open(path, { read: true });
  try {
    await f.sync();
  } finally {
    f.close();
  }
}

/**
 * Replaces `path` with `data`: `<path><tempSuffix>` written and fsynced, renamed over the
 * target, the directory fsynced. On failure the temporary file is removed and the error
 * rethrown; the target is then untouched.
 */
export async function atomicWrite(
  path: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = `${path}${opts.tempSuffix ?? ".tmp"}`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: opts.mode });
    try {
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
      await f.sync();
    } finally {
      f.close();
    }
    // The umask may have narrowed the create mode.
    if (opts.mode !== undefined) await Deno.chmod(tmp, opts.mode);
    await Deno.rename(tmp, path);
    await fsyncPath(dirname(path));
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
