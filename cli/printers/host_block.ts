/** Pieces shared by per-host-set output: the host-set header (dmg.md §4.3). */
import { stripPorts } from "../../control/lib/hostlist.ts";

/** Dashes, the host set (ports stripped), dashes; each line ends in `\n`. */
export function hostSetHeader(ranged: string): string {
  const hosts = stripPorts(ranged);
  const dashes = "-".repeat(hosts.length);
  return `${dashes}\n${hosts}\n${dashes}\n`;
}
