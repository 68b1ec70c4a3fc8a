import { equal, rejects } from "node:assert/strict";
import { readTextIfExists } from "./read_if_exists.ts";

Deno.test("readTextIfExists: text of a file, null when absent, other errors thrown", async () => {
  const dir = await Deno.makeTempDir({ prefix: "read-if-exists-" });
  try {
    await Deno.writeTextFile(`${dir}/f`, "text\n");
    equal(await readTextIfExists(`${dir}/f`), "text\n");
    equal(await readTextIfExists(`${dir}/absent`), null);
    await rejects(readTextIfExists(dir), (e) => !(e instanceof Deno.errors.NotFound));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
