/** Pieces shared by per-host-set output: the host-set header (dmg.md §4.3), host_errors JSON. */
import { stripPorts } from "../../control/lib/hostlist.ts";

/** Dashes, the host set (ports stripped), dashes; each line ends in `\n`. */
export function hostSetHeader(ranged: string): string {
  const hosts = stripPorts(ranged);
  const dashes = "-".repeat(hosts.length);
  return `${dashes}\n${hosts}\n${dashes}\n`;
}

/** The JSON `host_errors` map: full error text → host set with ports. */
export function hostErrorsJson(
  groups: readonly { text: string; hosts: { toString(): string } }[],
): Map<string, string> {
  return new Map(groups.map((g) => [g.text, g.hosts.toString()]));
}
