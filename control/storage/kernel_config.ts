/**
 * Kernel build options (CONFIG_NUMA, CONFIG_TRANSPARENT_HUGEPAGE) decide the tmpfs options
 * (server.md §3.4); read from `kernel_config_path`, /proc/config.gz or /boot/config-<release>.
 */
import { scmFault } from "../lib/fault.ts";

/** Parsed `CONFIG_X=value` lines. */
export type KernelConfig = Map<string, string>;

/** Parses kernel config text (comment lines ignored). */
export function parseKernelConfig(text: string): KernelConfig {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const r = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (r) m.set(r[1], r[2]);
  }
  return m;
}

async function readMaybeGzip(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return new TextDecoder().decode(bytes);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

/** Reads the running kernel's config; fault 217 when none of the candidates is readable. */
export async function readKernelConfig(override = ""): Promise<KernelConfig> {
  const candidates = override !== ""
    ? [override]
    : ["/proc/config.gz", `/boot/config-${Deno.osRelease()}`];
  for (const p of candidates) {
    try {
      return parseKernelConfig(await readMaybeGzip(p));
    } catch {
      // try the next candidate
    }
  }
  throw scmFault(
    "ScmKernelConfigUnavailable",
    `kernel config unavailable (tried ${candidates.join(", ")})`,
    "set kernel_config_path in the server config file to the kernel's config file",
  );
}

/** True if the option is built in or a module. */
export function kernelHas(cfg: KernelConfig, opt: string): boolean {
  const v = cfg.get(opt);
  return v === "y" || v === "m";
}
