import assert from "node:assert/strict";
import { fileBdevBytes } from "./bdev_format.ts";

Deno.test("file bdev size is bdev_size GiB rounded down to 4 KiB", () => {
  assert.equal(fileBdevBytes(1), 1 << 30);
  assert.equal(fileBdevBytes(16), 16 * 2 ** 30);
});
