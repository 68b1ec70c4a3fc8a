/**
 * InstanceStorage over the storage module: superblock in the engine's metadata directory,
 * "needs format" = storage not prepared or no superblock, and the FormatGate wait.
 */
import type { EngineConfig } from "../config/types.ts";
import { engineMetadataDir } from "../storage/engine_paths.ts";
import { scmFault } from "../lib/fault.ts";
import { runTool } from "../storage/command.ts";
import { type ControlMetadataPlace, eraseControlMetadata } from "../storage/control_metadata.ts";
import { findMount } from "../storage/mounts.ts";
import { eraseScm } from "../storage/scm_format.ts";
import { type FormatGate, needsFormat } from "../storage/format_state.ts";
import { readSuperblock, removeSuperblock, writeSuperblock } from "../storage/superblock.ts";
import type { InstanceStorage, SuperblockStore } from "./types.ts";

/** The superblock kept in dir, through the storage module's atomic reader/writer. */
export function dirSuperblockStore(dir: string): SuperblockStore {
  return {
    read: () => readSuperblock(dir),
    write: (sb) => writeSuperblock(dir, sb),
    remove: () => removeSuperblock(dir),
  };
}

/** InstanceStorage for one engines[] entry, woken by the server's FormatGate. */
export function engineStorage(engine: EngineConfig, gate: FormatGate): InstanceStorage {
  const superblock = dirSuperblockStore(engineMetadataDir(engine));
  return {
    superblock,
    needsFormat: async () =>
      (await needsFormat(engine)) !== null || (await superblock.read()) === null,
    awaitFormat: async (signal) => {
      await gate.awaitFormat(engine.index, signal);
    },
    erase: () => eraseEngineScm(engine),
  };
}

/**
 * Unmounts `path` with `unmount`; a mount still in use (the MS database of this host lives on
 * engine 0's SCM until the MS stops after an erase) is detached lazily (umount -l): gone from
 * the mount table at once, freed when its last user closes it.
 */
export async function unmountOrDetach(
  path: string,
  unmount: () => Promise<void>,
): Promise<void> {
  try {
    await unmount();
  } catch (e) {
    if ((await findMount(path)) === null) return;
    try {
      await runTool(
        "umount",
        ["-l", path],
        (d) =>
          scmFault(
            "ScmUnknown",
            d,
            "check that daos_server runs as root and nothing else holds the mount",
          ),
      );
    } catch {
      throw e;
    }
  }
}

/** Reset-format erase of one engine's SCM: its ram tmpfs unmounted (detached if busy). */
export async function eraseEngineScm(engine: EngineConfig): Promise<void> {
  if (engine.scm?.class !== "ram") return;
  await unmountOrDetach(engine.scm.scmMount, () => eraseScm(engine));
}

/** Reset-format erase of the host's control_metadata device (detached if busy). */
export async function eraseHostMetadata(cm: ControlMetadataPlace): Promise<void> {
  if (cm.device === "" || cm.path === "") return;
  await unmountOrDetach(cm.path, () => eraseControlMetadata(cm));
}
