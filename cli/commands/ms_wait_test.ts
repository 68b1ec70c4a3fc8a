/** dmg's `--timeout` parsing and the "still waiting for the MS" lines on stderr. */
import { deepEqual, throws } from "node:assert/strict";
import { msWaitReporter, parseTimeout } from "./context.ts";

Deno.test("parseTimeout: units ms/s/m/h, seconds without one; bad values name the input", () => {
  deepEqual(
    ["250ms", "1.5s", "30s", "90", "2m", "1h"].map(parseTimeout),
    [250, 1500, 30_000, 90_000, 120_000, 3_600_000],
  );
  for (const bad of ["", "0", "0s", "-1", "soon", "10x", "1e3", "5 m s", "0.0001s"]) {
    throws(
      () => parseTimeout(bad),
      new Error(
        `invalid --timeout "${bad}": give a positive duration such as 30s, 2m or 90 (seconds)`,
      ),
      bad,
    );
  }
});

Deno.test("parseTimeout: at most 24h (a longer timer would fire at once and time out every call)", () => {
  deepEqual(["24h", "1440m", "86400"].map(parseTimeout), [86_400_000, 86_400_000, 86_400_000]);
  for (const bad of ["99999999999h", "24.001h", "1441m", "596h", "2147484s"]) {
    throws(
      () => parseTimeout(bad),
      new Error(`invalid --timeout "${bad}": at most 24h is accepted`),
      bad,
    );
  }
});

Deno.test("msWaitReporter: each new diagnosis at once, an unchanged one every 5 s", () => {
  let now = 1_000;
  const lines: string[] = [];
  const report = msWaitReporter((m) => lines.push(m), () => now);
  report("no MS leader yet: 3 of 3 hosts asked not ready");
  now += 1_000;
  report("no MS leader yet: 3 of 3 hosts asked not ready"); // repeated too soon: silent
  now += 4_000;
  report("no MS leader yet: 3 of 3 hosts asked not ready");
  now += 500;
  report("no MS leader yet: 1 of 3 hosts asked unreachable");
  deepEqual(lines, [
    "no MS leader yet: 3 of 3 hosts asked not ready; retrying",
    "no MS leader yet: 3 of 3 hosts asked not ready; retrying (waiting 5s)",
    "no MS leader yet: 1 of 3 hosts asked unreachable; retrying",
  ]);
});
