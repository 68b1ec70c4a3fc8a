/**
 * `<socket_dir>/.daos_server.active.yml` (server.md §1.1): the fully processed config, written
 * read-only at start, best effort. Keys are the YAML names (snake_case), tiers as `storage`.
 */
import { stringify } from "yaml";
import type { EngineConfig, ServerConfig } from "./types.ts";

/** Name of the active config file inside socket_dir. */
export const ACTIVE_CONFIG_NAME = ".daos_server.active.yml";

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function toYamlShape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toYamlShape);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => [snake(k), toYamlShape(x)]),
    );
  }
  return v;
}

function engineShape(e: EngineConfig): unknown {
  const {
    scm,
    bdevs,
    fabric,
    index: _i,
    systemName: _s,
    controlMetadataPath: _c,
    controlMetadataDevice: _d,
    enableHotplug: _h,
    ...rest
  } = e;
  // Derived fields are left out; class-specific keys only where the class allows them.
  const storage = [
    ...(scm
      ? [{
        ...scm,
        tier: undefined,
        scmList: scm.class === "dcpm" ? scm.scmList : undefined,
        scmSize: scm.class === "ram" ? scm.scmSize : undefined,
      }]
      : []),
    ...bdevs.map((b) => ({ ...b, tier: undefined, roleBits: undefined })),
  ].map((t) => Object.fromEntries(Object.entries(t).filter(([, x]) => x !== undefined)));
  return toYamlShape({ ...fabric, ...rest, storage });
}

/** The processed config as YAML text. */
export function renderActiveConfig(cfg: ServerConfig): string {
  const { engines, fabric, path: _p, notices: _n, mgmtSvcDb, ...rest } = cfg;
  const { ports, ...db } = mgmtSvcDb;
  return stringify({
    ...(toYamlShape({ ...fabric, ...rest }) as object),
    // Port overrides are keyed by replica address: those keys are written as they are.
    mgmt_svc_db: { ...(toYamlShape(db) as object), ports },
    engines: engines.map(engineShape),
  });
}

/** Writes the active config read-only (0444) into socket_dir; returns false on any failure. */
export async function saveActiveConfig(cfg: ServerConfig): Promise<boolean> {
  const path = `${cfg.socketDir.replace(/\/+$/, "")}/${ACTIVE_CONFIG_NAME}`;
  try {
    await Deno.remove(path).catch(() => {});
    await Deno.writeTextFile(path, renderActiveConfig(cfg), { mode: 0o444 });
    await Deno.chmod(path, 0o444);
    return true;
  } catch {
    return false; // best effort (§1.1)
  }
}
