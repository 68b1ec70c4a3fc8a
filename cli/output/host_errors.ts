/**
 * The per-host error summary (dmg.md §4.4): errors folded into host sets by error text,
 * printed as the indented `Errors:` table, and the `<n> host(s) had errors` error.
 */
import { errorText, isFault, rootCause } from "../../control/lib/fault.ts";
import { compareBytes, HostSet, stripPorts } from "../../control/lib/hostlist.ts";
import { formatTable, indentLines } from "../../control/lib/txtfmt.ts";
import { plural } from "../../control/lib/txtfmt.ts";

/** A failed host: its address (`host:port`) and what went wrong. */
export interface HostFailure {
  addr: string;
  error: unknown;
}

/** One row of the summary: an error text and the hosts that reported it. */
export interface HostErrorGroup {
  error: string;
  hosts: HostSet;
}

/** Table text of an error: a fault's description, otherwise the root error's message. */
export function hostErrorText(err: unknown): string {
  const root = rootCause(err);
  return (isFault(root) ? root.description : errorText(root)).replace(/\t/g, " ");
}

/**
 * Folds failures into groups (error text → host set), sorted by host-set string (byte-wise)
 * then error text.
 */
export function groupHostErrors(failures: Iterable<HostFailure>): HostErrorGroup[] {
  const byText = new Map<string, string[]>();
  for (const f of failures) {
    const text = hostErrorText(f.error);
    const hosts = byText.get(text);
    if (hosts === undefined) byText.set(text, [f.addr]);
    else hosts.push(f.addr);
  }
  const groups = [...byText].map(([error, addrs]) => ({ error, hosts: HostSet.fromHosts(addrs) }));
  return groups.sort((a, b) =>
    compareBytes(a.hosts.toString(), b.hosts.toString()) || compareBytes(a.error, b.error)
  );
}

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

/** `<n> host(s) had errors`, counting distinct hosts over all groups; undefined if none. */
export function hostErrorsSummary(groups: readonly HostErrorGroup[]): string | undefined {
  if (groups.length === 0) return undefined;
  const all = HostSet.fromHosts([]);
  for (const g of groups) all.merge(g.hosts);
  return `${plural(all.count, "host")} had errors`;
}
