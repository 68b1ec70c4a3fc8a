import { deepEqual as assertEquals } from "node:assert/strict";
import { faults, wrapError } from "../../control/lib/fault.ts";
import { fatalLines, programName, reportFatal } from "./fatal.ts";
import { Logger, MemorySink } from "./logger.ts";

Deno.test("fault root cause adds the resolution line (dmg.md §3.3)", () => {
  const err = new MemorySink();
  const code = reportFatal(
    new Logger({ stdout: new MemorySink(), stderr: err }),
    "dmg",
    faults.ClientFormatRunningSystem(),
  );
  assertEquals(code, 1);
  assertEquals(
    err.text,
    'ERROR: dmg: client: code = 509 description = "storage format invoked on a running system"\n' +
      'ERROR: dmg: client: code = 509 resolution = "stop and erase the system, then retry the format operation"\n',
  );
});

Deno.test("wrapped fault keeps the resolution; re-made text does not", () => {
  const f = faults.ClientConnectionRefused("localhost:10001");
  assertEquals(fatalLines("dmg", wrapError(f, "system query failed")).length, 2);
  const lost = wrapError(
    new Error(`${f.message}: unable to contact the DAOS Management Service`),
    "system query failed",
  );
  assertEquals(fatalLines("dmg", lost), [
    'dmg: system query failed: client: code = 506 description = "the server at localhost:10001 refused the connection": unable to contact the DAOS Management Service',
  ]);
});

Deno.test("plain errors give one line; program name is argv0's basename", () => {
  assertEquals(fatalLines("dmg", new Error("x")), ["dmg: x"]);
  assertEquals(programName("/usr/bin/dmg"), "dmg");
  assertEquals(programName("/work/main/cli/main.ts"), "main");
});
