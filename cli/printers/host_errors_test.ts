import { deepEqual as assertEquals } from "node:assert/strict";
import { faults, wrapError } from "../../control/lib/fault.ts";
import {
  groupHostErrors,
  hostErrorsSummary,
  hostErrorText,
} from "../../control/lib/control/host_errors.ts";
import { formatHostErrors } from "./host_errors.ts";
import { plural } from "../../control/lib/txtfmt.ts";

Deno.test("Errors: block matches the connection-refused example (one row per host)", () => {
  const groups = groupHostErrors([
    { addr: "wolf-4:10001", error: new Error("nvme scan failed") },
    { addr: "wolf-2:10001", error: faults.ClientConnectionRefused("wolf-2:10001") },
    { addr: "wolf-1:10001", error: faults.ClientConnectionRefused("wolf-1:10001") },
    { addr: "wolf-3:10001", error: new Error("nvme scan failed") },
  ]);
  assertEquals(
    formatHostErrors(groups),
    "Errors:\n" +
      "  Hosts      Error                                             \n" +
      "  -----      -----                                             \n" +
      "  wolf-1     the server at wolf-1:10001 refused the connection \n" +
      "  wolf-2     the server at wolf-2:10001 refused the connection \n" +
      "  wolf-[3-4] nvme scan failed                                  \n" +
      "\n",
  );
  assertEquals(hostErrorsSummary(groups), "4 hosts had errors");
});

Deno.test("a host with two errors appears twice, counted once; sorted by hosts then error", () => {
  const groups = groupHostErrors([
    { addr: "host1:10001", error: new Error("scm scan failed") },
    { addr: "host2:10001", error: new Error("scm scan failed") },
    { addr: "host1:10001", error: new Error("nvme scan failed") },
    { addr: "host2:10001", error: new Error("nvme scan failed") },
  ]);
  assertEquals(
    formatHostErrors(groups),
    "Errors:\n" +
      "  Hosts     Error            \n" +
      "  -----     -----            \n" +
      "  host[1-2] nvme scan failed \n" +
      "  host[1-2] scm scan failed  \n" +
      "\n",
  );
  assertEquals(hostErrorsSummary(groups), "2 hosts had errors");
});

Deno.test("no errors: empty block and no summary", () => {
  assertEquals(formatHostErrors([]), "");
  assertEquals(hostErrorsSummary([]), undefined);
});

Deno.test("error text: fault description of the root cause, tabs become spaces", () => {
  assertEquals(
    hostErrorText(wrapError(faults.ClientConnectionClosed("a:1"), "ctx")),
    "the server at a:1 closed the connection without accepting a request",
  );
  assertEquals(hostErrorText(new Error("a\tb")), "a b");
});

Deno.test("plural with thousands separators", () => {
  assertEquals(plural(1, "host"), "1 host");
  assertEquals(plural(3, "host"), "3 hosts");
  assertEquals(plural(1024, "host"), "1,024 hosts");
});
