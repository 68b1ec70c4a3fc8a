/**
 * What every host's `dmg support collect-log` archive must hold, checked alike by the unit
 * test (cli/commands/support_test.ts, mock hosts) and the integration test over real servers.
 */
import { ok } from "node:assert/strict";
import { gunzip, tarList } from "../../control/lib/support/collect.ts";

/** Members every host's archive holds, below `<host>/`. */
export const HOST_ARCHIVE_MEMBERS = [
  "logs/control.log",
  "config/daos_server.yml",
  "state/engines.json",
  "state/storage_scan.json",
  "state/network_scan.json",
  "index.json",
] as const;

/** The members of the gzip'd tar archive at `path`, by name. */
export async function archiveMembers(path: string): Promise<Map<string, Uint8Array>> {
  return tarList(await gunzip(await Deno.readFile(path)));
}

/**
 * Asserts that `host`'s archive holds every {@link HOST_ARCHIVE_MEMBERS} entry and that no
 * member contains `secret` (the config's fabric_auth_key must be redacted everywhere).
 */
export function assertHostArchive(
  tar: Map<string, Uint8Array>,
  host: string,
  secret: string,
): void {
  for (const want of HOST_ARCHIVE_MEMBERS) {
    ok(tar.has(`${host}/${want}`), `${host}: ${want} missing in ${[...tar.keys()]}`);
  }
  for (const [name, data] of tar) {
    ok(!new TextDecoder().decode(data).includes(secret), `${name} leaks the secret`);
  }
}
