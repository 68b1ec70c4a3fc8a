import assert from "node:assert/strict";
import { isFault } from "../lib/fault.ts";
import { FormatGate } from "./format_state.ts";

Deno.test("awaitFormat resolves when storageReady is called for that instance only", async () => {
  const g = new FormatGate();
  let got0: boolean | null = null;
  const p0 = g.awaitFormat(0).then((r) => (got0 = r.replace));
  const p1 = g.awaitFormat(1);
  assert.deepEqual(g.waiting(), [0, 1]);
  assert.equal(g.storageReady(0, { replace: true }), true);
  await p0;
  assert.equal(got0, true);
  assert.deepEqual(g.waiting(), [1]);
  assert.equal(g.storageReady(1, { replace: false }), true);
  assert.deepEqual(await p1, { replace: false });
  assert.equal(g.storageReady(1, { replace: false }), false);
});

Deno.test("awaitFormat is aborted by shutdown with a Fault", async () => {
  const g = new FormatGate();
  const ac = new AbortController();
  const p = g.awaitFormat(2, ac.signal).then(() => null, (e: unknown) => e);
  ac.abort();
  const e = await p;
  assert(isFault(e));
  assert.equal(g.isWaiting(2), false);
});
