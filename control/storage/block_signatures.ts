/** Filesystem and partition-table signatures of block devices (blkid, read-only). */

/** Where e2fsprogs/util-linux tools live (Debian: /usr/sbin, not always on PATH). */
export function sbin(name: string): string {
  for (const dir of ["/usr/sbin", "/sbin"]) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* next */ }
  }
  return name;
}

/** TYPE and PTTYPE (partition table) signatures of a device; "" when absent. */
export async function signatures(device: string): Promise<{ type: string; ptType: string }> {
  const out = await new Deno.Command(sbin("blkid"), {
    args: ["-p", "-o", "export", device],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const vals = new Map<string, string>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) vals.set(line.slice(0, i), line.slice(i + 1));
  }
  return { type: vals.get("TYPE") ?? "", ptType: vals.get("PTTYPE") ?? "" };
}
