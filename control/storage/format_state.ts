/**
 * Per-instance "needs format" decision and the AwaitFormat wait (server.md §3.2).
 * The harness asks `needsFormat` each time an instance is (re)started; when true it blocks in
 * `FormatGate.awaitFormat` until StorageFormat calls `storageReady` for that instance.
 */
import type { EngineConfig } from "../config/types.ts";
import { serverFault } from "../lib/fault.ts";
import { engineMetadataDir } from "./engine_paths.ts";
import { findMount } from "./mounts.ts";
import { isOurTmpfs } from "./format_safety.ts";
import { controlMetadataNeedsFormat } from "./control_metadata.ts";

/**
 * True if control metadata (MD-on-SSD) is configured and not yet formatted; a formatted
 * control_metadata.device is mounted by the check (see control_metadata.ts).
 */
export function needsMetaFormat(e: EngineConfig): Promise<boolean> {
  return controlMetadataNeedsFormat({
    path: e.controlMetadataPath,
    device: e.controlMetadataDevice ?? "",
  });
}

/**
 * True if the SCM tier must be formatted: ram → none of our tmpfs mounted at scm_mount (e.g.
 * after a reboot; a tmpfs someone else mounted there is not the engine's storage); dcpm → not
 * mounted (PMem cannot be mounted on these machines).
 */
export async function needsScmFormat(e: EngineConfig): Promise<boolean> {
  if (!e.scm) return false;
  const m = await findMount(e.scm.scmMount);
  if (e.scm.class === "ram") return m === null || !(await isOurTmpfs(m));
  return m === null;
}

/** Why an instance must wait for format, or null when its storage is ready. */
export async function needsFormat(e: EngineConfig): Promise<string | null> {
  if (await needsMetaFormat(e)) return `Metadata format required on instance ${e.index}`;
  if (await needsScmFormat(e)) return `SCM format required on instance ${e.index}`;
  return null;
}

/** Directory of the superblock for an engine (re-exported for the harness). */
export { engineMetadataDir };

/** Outcome of waiting for format. */
export interface StorageReady {
  /** True when formatted with `--replace` (the engine joins replacing a rank). */
  replace: boolean;
}

/** Wakes instances waiting in AwaitFormat when StorageFormat has prepared their storage. */
export class FormatGate {
  private readonly waiters = new Map<number, Array<(r: StorageReady) => void>>();

  /** Instances currently waiting (sorted). */
  waiting(): number[] {
    return [...this.waiters.entries()].filter(([, w]) => w.length > 0).map(([i]) => i).sort();
  }

  /** True if instance `idx` is in AwaitFormat. */
  isWaiting(idx: number): boolean {
    return (this.waiters.get(idx)?.length ?? 0) > 0;
  }

  /** Blocks until `storageReady(idx)`; rejects with a Fault when `signal` aborts (shutdown). */
  awaitFormat(idx: number, signal?: AbortSignal): Promise<StorageReady> {
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(idx) ?? [];
      this.waiters.set(idx, list);
      const onAbort = () => {
        const l = this.waiters.get(idx) ?? [];
        const i = l.indexOf(done);
        if (i >= 0) l.splice(i, 1);
        reject(
          serverFault(
            "ServerHarnessNotStarted",
            `instance ${idx}: wait for storage format aborted`,
          ),
        );
      };
      const done = (r: StorageReady) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(r);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      list.push(done);
    });
  }

  /** Tells instance `idx` its storage is ready; returns true if someone was waiting. */
  storageReady(idx: number, ready: StorageReady): boolean {
    const list = this.waiters.get(idx) ?? [];
    this.waiters.delete(idx);
    for (const w of list) w(ready);
    return list.length > 0;
  }
}
