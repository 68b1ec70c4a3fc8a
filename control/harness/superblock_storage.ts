/**
 * Default InstanceStorage: "formatted" = superblock present; awaiting format polls for it.
 * daos_server can substitute the storage module's own format-aware implementation.
 */
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
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, pollMs);
          function done() {
            clearTimeout(t);
            signal.removeEventListener("abort", done);
            resolve();
          }
          signal.addEventListener("abort", done, { once: true });
        });
      }
      throw signal.reason ?? new Error("aborted while waiting for format");
    },
  };
}
