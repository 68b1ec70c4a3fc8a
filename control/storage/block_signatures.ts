/** Filesystem and partition-table signatures of block devices (blkid, read-only). */

/**
 * Where an e2fsprogs/util-linux tool lives (Debian: /usr/sbin, not always on a service's
 * PATH); the bare name (PATH lookup) when it is in none of the usual directories.
 */
export function sbin(name: string): string {
  for (const dir of ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* next */ }
  }
  return name;
}

/** What `blkid -p -o export <device>` said: its exit status, stderr and KEY=VALUE pairs. */
export interface BlkidProbe {
  code: number;
  success: boolean;
  stderr: string;
  values: Map<string, string>;
}

/**
 * Probes a device's signatures with blkid (low-level, no cache). Exit status 2 means no
 * recognizable signature; callers judge other failures. Throws when blkid cannot be run.
 */
export async function blkidProbe(device: string): Promise<BlkidProbe> {
  const out = await new Deno.Command(sbin("blkid"), {
    args: ["-p", "-o", "export", device],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const values = new Map<string, string>();
  for (const line of dec.decode(out.stdout).split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) values.set(line.slice(0, i), line.slice(i + 1));
  }
  return { code: out.code, success: out.success, stderr: dec.decode(out.stderr).trim(), values };
}

/** TYPE and PTTYPE (partition table) signatures of a device; "" when absent. */
export async function signatures(device: string): Promise<{ type: string; ptType: string }> {
  const { values } = await blkidProbe(device);
  return { type: values.get("TYPE") ?? "", ptType: values.get("PTTYPE") ?? "" };
}
