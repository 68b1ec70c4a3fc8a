import { deepEqual as assertEquals } from "node:assert/strict";
import { describeExit } from "./exit_status.ts";

Deno.test("exit texts follow the reference wording", () => {
  assertEquals(describeExit({ success: true, code: 0, signal: null }), "exit status 0");
  assertEquals(describeExit({ success: false, code: 3, signal: null }), "exit status 3");
  assertEquals(describeExit({ success: false, code: 137, signal: "SIGKILL" }), "signal: killed");
  assertEquals(
    describeExit({ success: false, code: 143, signal: "SIGTERM" }),
    "signal: terminated",
  );
  assertEquals(describeExit({ success: false, code: 140, signal: "SIGUSR2" }), "signal: SIGUSR2");
});
