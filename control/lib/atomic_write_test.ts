import { equal, rejects } from "node:assert/strict";
import { atomicWrite } from "./atomic_write.ts";

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test("atomicWrite creates, then replaces, leaving no temporary file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "atomic-write-" });
  try {
    const path = `${dir}/f`;
    await atomicWrite(path, "one\n");
    equal(await Deno.readTextFile(path), "one\n");
    await atomicWrite(path, new TextEncoder().encode("two"));
    equal(await Deno.readTextFile(path), "two");
    equal(await exists(`${path}.tmp`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atomicWrite applies the mode whatever the umask and honours tempSuffix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "atomic-write-" });
  const old = Deno.umask(0o077);
  try {
    const path = `${dir}/f`;
    await atomicWrite(path, "x", { mode: 0o664, tempSuffix: ".staging" });
    equal((await Deno.stat(path)).mode! & 0o777, 0o664);
    equal(await exists(`${path}.staging`), false);
  } finally {
    Deno.umask(old);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed atomicWrite keeps the target and removes the temporary file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "atomic-write-" });
  try {
    // A non-empty directory as the target: the rename over it fails.
    const path = `${dir}/target`;
    await Deno.mkdir(path);
    await Deno.writeTextFile(`${path}/keep`, "kept");
    await rejects(atomicWrite(path, "new"));
    equal(await Deno.readTextFile(`${path}/keep`), "kept");
    equal(await exists(`${path}.tmp`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
