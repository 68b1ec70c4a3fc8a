/**
 * InstanceStorage over the storage module: superblock in the engine's metadata directory,
 * "needs format" = storage not prepared or no superblock, and the FormatGate wait.
 */
import type { EngineConfig } from "../config/types.ts";
import { engineMetadataDir } from "../storage/engine_paths.ts";
import { type FormatGate, needsFormat } from "../storage/format_state.ts";
import {
  readSuperblock,
  removeSuperblock,
  type Superblock as StoredSuperblock,
  writeSuperblock,
} from "../storage/superblock.ts";
import type { InstanceStorage, Superblock, SuperblockStore } from "./types.ts";

function toHarness(sb: StoredSuperblock): Superblock {
  return {
    version: sb.version,
    uuid: sb.uuid,
    system: sb.system,
    rank: sb.rank,
    uri: sb.uri,
    validrank: sb.validRank,
    hostfaultdomain: sb.hostFaultDomain,
    incarnation: sb.incarnation,
  };
}

function toStored(sb: Superblock): StoredSuperblock {
  return {
    version: sb.version,
    uuid: sb.uuid,
    system: sb.system,
    rank: sb.rank,
    uri: sb.uri,
    validRank: sb.validrank,
    hostFaultDomain: sb.hostfaultdomain,
    incarnation: sb.incarnation,
  };
}

/** The superblock kept in dir, through the storage module's atomic reader/writer. */
export function dirSuperblockStore(dir: string): SuperblockStore {
  return {
    read: async () => {
      const sb = await readSuperblock(dir);
      return sb === null ? null : toHarness(sb);
    },
    write: (sb) => writeSuperblock(dir, toStored(sb)),
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
  };
}
