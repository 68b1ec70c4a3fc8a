import { equal, match, rejects } from "node:assert/strict";
import { boundedOutput, boundedStatus } from "./bounded.ts";

Deno.test("boundedOutput: returns the output of a process that exits in time", async () => {
  const out = await boundedOutput("sh", { args: ["-c", "echo hi; echo err >&2; exit 3"] });
  equal(out.code, 3);
  equal(new TextDecoder().decode(out.stdout), "hi\n");
  equal(new TextDecoder().decode(out.stderr), "err\n");
});

Deno.test("boundedOutput/boundedStatus: a process that does not exit is killed and named", async () => {
  await rejects(
    boundedOutput("sleep", { args: ["30"] }, 200),
    /sleep 30 \(pid \d+\) did not exit within 200 ms; killed it/,
  );
  const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
  const err = await boundedStatus(child, "the sleeper", 100).then(() => null, (e) => e);
  match(String(err), /the sleeper \(pid \d+\) did not exit within 100 ms/);
  equal((await child.status).signal, "SIGKILL");
});
