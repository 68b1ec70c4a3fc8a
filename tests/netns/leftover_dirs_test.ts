import { deepEqual as assertEquals } from "node:assert/strict";
import { markOwned, OWNER_MARKER, removeLeftoverDirs } from "./leftover_dirs.ts";

Deno.test("removeLeftoverDirs removes only marked dirs of dead owners", async () => {
  const parent = await Deno.makeTempDir({ prefix: "netns-dirs-" });
  try {
    const dead = new Deno.Command("true").spawn();
    const deadPid = dead.pid;
    await dead.status;
    for (const d of ["lab-dead", "lab-live", "lab-unmarked", "lab-garbage", "other-dead"]) {
      await Deno.mkdir(`${parent}/${d}/sub`, { recursive: true });
    }
    await Deno.writeTextFile(`${parent}/lab-dead/${OWNER_MARKER}`, `${deadPid}\n`);
    await Deno.writeTextFile(`${parent}/other-dead/${OWNER_MARKER}`, `${deadPid}\n`);
    await Deno.writeTextFile(`${parent}/lab-garbage/${OWNER_MARKER}`, "not a pid\n");
    await markOwned(`${parent}/lab-live`);

    assertEquals(await removeLeftoverDirs(parent, "lab-"), [`${parent}/lab-dead`]);
    const left = [];
    for await (const e of Deno.readDir(parent)) left.push(e.name);
    assertEquals(left.sort(), ["lab-garbage", "lab-live", "lab-unmarked", "other-dead"]);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});
