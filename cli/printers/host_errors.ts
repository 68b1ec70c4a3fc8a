/**
 * The per-host error block (dmg.md §4.4): the indented `Errors:` table of HostErrors groups
 * and the JSON `host_errors` map.
 */
import type { HostErrorGroup, HostErrors } from "../../control/lib/control/host_errors.ts";
import { stripPorts } from "../../control/lib/hostlist.ts";
import { formatTable, indentLines } from "../../control/lib/txtfmt.ts";

/**
 * The `Errors:` block: `Errors:` then the 2-space indented `Hosts | Error` table (ports
 * stripped) and a blank line; "" when there are no groups. Log it with one ERROR call.
 */
export function formatHostErrors(groups: readonly HostErrorGroup[]): string {
  if (groups.length === 0) return "";
  const table = formatTable(
    ["Hosts", "Error"],
    groups.map((g) => ({ Hosts: stripPorts(g.hosts.toString()), Error: g.error })),
  );
  return "Errors:\n" + indentLines(table, 2) + "\n";
}

/** The `Errors:` block of `errors` ("" when none). */
export function hostErrorsBlock(errors: HostErrors): string {
  return formatHostErrors(errors.groups());
}
