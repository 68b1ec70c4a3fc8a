/**
 * Per-host errors of a fan-out (dmg.md §4.4), in one type: the failures as they came, grouped
 * into host sets by error text, once by the table text (a fault's description) for the
 * `Errors:` block and once by the full text for the JSON `host_errors` map, and the
 * `<n> host(s) had errors` command error.
 */
import { errorText, isFault, rootCause } from "../fault.ts";
import { compareBytes, HostSet } from "../hostlist.ts";
import type { HostResult } from "../rpc/fanout.ts";
import { plural } from "../txtfmt.ts";

/** A failed host: its address (`host:port`) and what went wrong. */
export interface HostFailure {
  addr: string;
  error: unknown;
}

/** One group: an error text and the hosts that reported it. */
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
 * Folds failures into groups (text of `textOf` → host set), sorted by host-set string
 * (byte-wise) then text. A host may appear under several texts.
 */
export function groupHostErrors(
  failures: Iterable<HostFailure>,
  textOf: (err: unknown) => string = hostErrorText,
): HostErrorGroup[] {
  const byText = new Map<string, string[]>();
  for (const f of failures) {
    const text = textOf(f.error);
    const hosts = byText.get(text);
    if (hosts === undefined) byText.set(text, [f.addr]);
    else hosts.push(f.addr);
  }
  const groups = [...byText].map(([error, addrs]) => ({ error, hosts: HostSet.fromHosts(addrs) }));
  return groups.sort((a, b) =>
    compareBytes(a.hosts.toString(), b.hosts.toString()) || compareBytes(a.error, b.error)
  );
}

/** `<n> host(s) had errors`, counting distinct hosts over all groups; undefined if none. */
export function hostErrorsSummary(groups: readonly HostErrorGroup[]): string | undefined {
  if (groups.length === 0) return undefined;
  const all = HostSet.fromHosts([]);
  for (const g of groups) all.merge(g.hosts);
  return `${plural(all.count, "host")} had errors`;
}

/** The host errors of one request. */
export class HostErrors {
  readonly failures: HostFailure[] = [];

  constructor(failures: Iterable<HostFailure> = []) {
    for (const f of failures) this.failures.push(f);
  }

  /** Adds a failure of `addr`. */
  add(addr: string, error: unknown): void {
    this.failures.push({ addr, error });
  }

  /** No host failed. */
  get empty(): boolean {
    return this.failures.length === 0;
  }

  /** Groups by table text (the `Errors:` block). */
  groups(): HostErrorGroup[] {
    return groupHostErrors(this.failures);
  }

  /** The JSON `host_errors` map: full error text → host set with ports. */
  json(): Map<string, string> {
    return new Map(
      groupHostErrors(this.failures, errorText).map((g) => [g.error, g.hosts.toString()]),
    );
  }

  /** `<n> host(s) had errors`, or undefined. */
  summary(): string | undefined {
    return hostErrorsSummary(this.groups());
  }
}

/** What the hosts that answered contributed, and the host errors. */
export interface HostAnswers<T> {
  answers: { addr: string; payload: T }[];
  hostErrors: HostErrors;
}

/**
 * Folds fan-out results: failed hosts into host errors, answers into what they contribute,
 * `contribution` (default: the answer) adding any error the answer carries.
 */
export function foldResults<R, T = R>(
  results: readonly HostResult<R>[],
  contribution: (addr: string, resp: R, errors: HostErrors) => T = (_a, r) => r as unknown as T,
): HostAnswers<T> {
  const out: HostAnswers<T> = { answers: [], hostErrors: new HostErrors() };
  for (const r of results) {
    if (r.error) out.hostErrors.add(r.addr, r.error);
    else {out.answers.push({
        addr: r.addr,
        payload: contribution(r.addr, r.response, out.hostErrors),
      });}
  }
  return out;
}
