/**
 * Host names in tests resolve through files the test controls: dmg inside a lab host resolves
 * lab names through the lab's own hosts file, and an unknown name fails at once as a per-host
 * "could not be resolved" error, without any query leaving the lab.
 */
import { equal, match } from "node:assert/strict";
import { withLab } from "../netns/lab.ts";

const top = new URL("../../", import.meta.url).pathname;
/** Guard against a regression hanging on name resolution. */
const GUARD_MS = 30_000;

Deno.test("netns: dmg host names resolve through the lab's files only", async () => {
  await withLab({ hosts: 2 }, async (lab) => {
    // The lab's files are the ones in force inside a lab host.
    const hosts = await lab.run(0, "getent", ["hosts", "h1"], { timeoutMs: GUARD_MS });
    equal(hosts.code, 0, hosts.stderr);
    match(hosts.stdout, new RegExp(`^${lab.hosts[1].ip.replaceAll(".", "\\.")}\\s+h1\\n$`));
    const resolv = await lab.run(0, "cat", ["/etc/resolv.conf"], { timeoutMs: GUARD_MS });
    equal(resolv.stdout, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");

    const dmg = (...args: string[]) =>
      lab.run(0, `${top}bin/dmg`, ["-i", ...args], { timeoutMs: GUARD_MS });

    // An unknown name: a per-host resolution error, nothing else printed.
    const unknown = await dmg("-l", "nosuchhost.invalid:10001", "storage", "scan");
    equal(unknown.timedOut, false, "dmg hung resolving an unknown name");
    equal(unknown.code, 1);
    equal(unknown.stdout, "");
    match(
      unknown.stderr,
      /^ERROR: Errors:\n {2}Hosts +Error +\n.*\n {2}nosuchhost\.invalid +the server address \(nosuchhost\.invalid:10001\) could not be resolved +\n\nERROR: dmg: 1 host had errors\n$/,
    );

    // A lab name resolves (to h1, where nothing listens): the error is a refused connection
    // to that host, not a resolution failure.
    const known = await dmg("-l", "h1:10001", "storage", "scan");
    equal(known.timedOut, false);
    equal(known.code, 1);
    match(known.stderr, /\n {2}h1 +the server at h1:10001 refused the connection +\n/);
  });
});
