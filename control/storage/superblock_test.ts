import assert from "node:assert/strict";
import { isFault } from "../lib/fault.ts";
import {
  decodeSuperblock,
  encodeSuperblock,
  newSuperblock,
  readSuperblock,
  removeSuperblock,
  superblockPath,
  writeSuperblock,
} from "./superblock.ts";

Deno.test("superblock text uses the reference's lower-cased keys and null rank", () => {
  const sb = {
    ...newSuperblock("daos_server", "/host1"),
    uuid: "0b0e0a0d-0000-4000-8000-000000000001",
  };
  assert.equal(
    encodeSuperblock(sb),
    "version: 1\nuuid: 0b0e0a0d-0000-4000-8000-000000000001\nsystem: daos_server\nrank: null\n" +
      'uri: ""\nvalidrank: false\nhostfaultdomain: /host1\nincarnation: 0\n',
  );
  assert.deepEqual(decodeSuperblock(encodeSuperblock(sb), "x"), sb);
});

Deno.test("write, read back, update, remove; no staging file is left", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await readSuperblock(dir), null);
    const sb = newSuperblock("", "/h");
    assert.equal(sb.system, "daos_engine");
    await writeSuperblock(dir, sb);
    assert.equal((await Deno.stat(superblockPath(dir))).mode! & 0o777, 0o660);
    await writeSuperblock(dir, { ...sb, rank: 3, validRank: true, uri: "tcp://1.2.3.4:5" });
    const got = await readSuperblock(dir);
    assert.deepEqual(got, { ...sb, rank: 3, validRank: true, uri: "tcp://1.2.3.4:5" });
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(names, ["superblock"]);
    await removeSuperblock(dir);
    await removeSuperblock(dir);
    assert.equal(await readSuperblock(dir), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a corrupt superblock is a Fault naming the file and field", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(superblockPath(dir), "version: 1\nuuid: nope\n");
    const e = await readSuperblock(dir).then(() => null, (x: unknown) => x);
    assert(isFault(e));
    assert.match(e.description, /superblock ".*\/superblock" is corrupt: field uuid/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed write leaves neither a staging file nor a superblock", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(superblockPath(dir)); // rename over a directory fails
    const e = await writeSuperblock(dir, newSuperblock("s", "/h")).then(() => null, (x) => x);
    assert(isFault(e));
    assert.equal(
      await Deno.stat(`${superblockPath(dir)}.staging`).then(() => true, () => false),
      false,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
