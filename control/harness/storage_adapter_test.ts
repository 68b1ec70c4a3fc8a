import { deepEqual as assertEquals } from "node:assert/strict";
import { dirSuperblockStore } from "./storage_adapter.ts";
import { superblockPresenceStorage } from "./superblock_storage.ts";

Deno.test("superblock store round-trips a full u64 incarnation and removes the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sb-adapter-" });
  try {
    const store = dirSuperblockStore(dir);
    assertEquals(await store.read(), null);
    const sb = {
      version: 1,
      uuid: "0b7f1d8e-3c7a-4c4e-9c55-5d0f3a0f9b21",
      system: "daos_server",
      rank: 3,
      uri: "ofi+tcp://127.0.0.1:31416",
      validRank: true,
      hostFaultDomain: "/host1",
      incarnation: 1_790_000_000_123_456_789n, // ns since the epoch: beyond 2^53
    };
    await store.write(sb);
    assertEquals(await store.read(), sb);
    await store.remove();
    assertEquals(await store.read(), null);
    await store.remove(); // absent is fine
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("presence storage: needs format until a superblock exists; abort ends the wait", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sb-adapter-" });
  try {
    const store = dirSuperblockStore(dir);
    const st = superblockPresenceStorage(store, 5);
    assertEquals(await st.needsFormat(), true);
    const ac = new AbortController();
    const aborted = st.awaitFormat(ac.signal).then(() => "resolved", () => "rejected");
    ac.abort(new Error("shutdown"));
    assertEquals(await aborted, "rejected");
    const waiting = st.awaitFormat(new AbortController().signal);
    await store.write({
      version: 1,
      uuid: "0b7f1d8e-3c7a-4c4e-9c55-5d0f3a0f9b21",
      system: "s",
      rank: null,
      uri: "",
      validRank: false,
      hostFaultDomain: "/h",
      incarnation: 0n,
    });
    await waiting;
    assertEquals(await st.needsFormat(), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
