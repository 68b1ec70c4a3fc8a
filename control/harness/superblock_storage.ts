/**
 * Default InstanceStorage: "formatted" = superblock present; awaiting format polls for it.
 * daos_server can substitute the storage module's own format-aware implementation.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { InstanceStorage, SuperblockStore } from "./types.ts";

/** Builds an InstanceStorage over a superblock store, polling every pollMs while unformatted. */
export function superblockPresenceStorage(
  superblock: SuperblockStore,
  pollMs = 250,
): InstanceStorage {
  return {
    superblock,
    needsFormat: async () => (await superblock.read()) === null,
    awaitFormat: async (signal) => {
      while (!signal.aborted) {
        if ((await superblock.read()) !== null) return;
        // An abort ends the pause early (the delay rejects); the loop then throws its reason.
        await delay(pollMs, undefined, { signal }).catch(() => {});
      }
      throw signal.reason ?? new Error("aborted while waiting for format");
    },
  };
}
