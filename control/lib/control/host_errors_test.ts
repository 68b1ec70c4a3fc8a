import { deepEqual } from "node:assert/strict";
import { faults } from "../fault.ts";
import { HostErrors } from "./host_errors.ts";

Deno.test("HostErrors.json: by full text; connection errors never merge across hosts", () => {
  const errors = new HostErrors([
    { addr: "h1:1", error: faults.ClientConnectionRefused("h1:1") },
    { addr: "h2:1", error: faults.ClientConnectionRefused("h2:1") },
    { addr: "h3:1", error: new Error("nvme scan failed") },
    { addr: "h4:1", error: new Error("nvme scan failed") },
    { addr: "h3:1", error: new Error("scm scan failed") },
  ]);
  deepEqual([...errors.json()].map(([text, hosts]) => [hosts, text]), [
    ["h1:1", 'client: code = 506 description = "the server at h1:1 refused the connection"'],
    ["h2:1", 'client: code = 506 description = "the server at h2:1 refused the connection"'],
    ["h3:1", "scm scan failed"],
    ["h[3-4]:1", "nvme scan failed"],
  ]);
  // The table groups by the fault's description instead; the summary counts hosts once.
  deepEqual(errors.groups().map((g) => [g.hosts.toString(), g.error]), [
    ["h1:1", "the server at h1:1 refused the connection"],
    ["h2:1", "the server at h2:1 refused the connection"],
    ["h3:1", "scm scan failed"],
    ["h[3-4]:1", "nvme scan failed"],
  ]);
  deepEqual(errors.summary(), "4 hosts had errors");
  deepEqual(new HostErrors().summary(), undefined);
  deepEqual(new HostErrors().empty, true);
});
