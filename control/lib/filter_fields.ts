/**
 * The rank and host filters an RPC carries (SystemQuery/Stop/Start/Exclude, the CtlSvc *Ranks
 * calls), parsed at the boundary with bounds: a request of a few MB may otherwise name billions
 * of hosts ("a[0-16384]," repeated) or hundreds of thousands of rank ranges, and expanding or
 * matching those would stall or exhaust the server. A refusal names the request field.
 */
import { makeFault } from "./fault.ts";
import { type HostList, parseHostList } from "./hostlist.ts";
import { parseRankSet, type RankSet } from "./rankset.ts";

/** Most hosts one host filter may name (duplicates included): a system's worth and more. */
export const MAX_FILTER_HOSTS = 16384;

/** Longest entry of a host list: a DNS name (253) with a port, or a bracketed range of them. */
export const MAX_HOST_ENTRY_LEN = 1024;

/** Most comma-separated elements (ranks or ranges) one rank filter may have. */
export const MAX_FILTER_RANK_ELEMENTS = 16384;

/** Number of occurrences of any of `chars` in `text`, stopping once it passes `limit`. */
function countChars(text: string, chars: string, limit: number): number {
  let n = 0;
  for (let i = 0; i < text.length && n <= limit; i++) {
    if (chars.includes(text[i])) n++;
  }
  return n;
}

/** A parse error's text, cut short: it quotes the input, which may be megabytes long. */
function cause(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.length > MAX_CAUSE_LEN ? `${m.slice(0, MAX_CAUSE_LEN)}... (${m.length} characters)` : m;
}

const MAX_CAUSE_LEN = 300;

function badFilter(field: string, problem: string, resolution: string) {
  return makeFault("SystemUnknown", `${problem} (${field})`, resolution);
}

/**
 * Parses a rank filter ("" = none). `field` names it in errors, e.g. "SystemStopReq field
 * ranks". Throws a fault for a malformed set or one of more than MAX_FILTER_RANK_ELEMENTS
 * elements.
 */
export function rankFilter(text: string, field: string): RankSet {
  if (countChars(text, ",", MAX_FILTER_RANK_ELEMENTS) >= MAX_FILTER_RANK_ELEMENTS) {
    throw badFilter(
      field,
      `rank list has more than ${MAX_FILTER_RANK_ELEMENTS} elements`,
      'write consecutive ranks as ranges ("0-99" rather than "0,1,...,99"), or split the request',
    );
  }
  try {
    return parseRankSet(text);
  } catch (e) {
    throw badFilter(
      field,
      `invalid rank list: ${cause(e)}`,
      'give ranks as a list of ranks and ranges such as "0-3,5"',
    );
  }
}

/**
 * Parses a host filter ("" = none). `field` names it in errors. Throws a fault for a malformed
 * list or one naming more than MAX_FILTER_HOSTS hosts; the count is checked before any host is
 * written out.
 */
export function hostFilter(text: string, field: string): HostList {
  const tooMany = (what: string) =>
    badFilter(
      field,
      `host list ${what} more than ${MAX_FILTER_HOSTS} hosts`,
      "name fewer hosts, or give no host list to select every host",
    );
  // Every separated element names at least one host: refuse before parsing a huge list.
  if (countChars(text, ", \t", MAX_FILTER_HOSTS) >= MAX_FILTER_HOSTS) throw tooMany("has");
  // A NUL or escape would be echoed back in the absent hosts and printed by dmg.
  // deno-lint-ignore no-control-regex
  const ctl = /[\u0000-\u0008\u000a-\u001f\u007f]/.exec(text);
  if (ctl !== null) {
    throw badFilter(
      field,
      `invalid host list: control character ${JSON.stringify(ctl[0])} at offset ${ctl.index}`,
      'give hosts as a list such as "host[1-4]:10001,host7"',
    );
  }
  const longest = text.split(/[, \t]/).reduce((n, t) => Math.max(n, t.length), 0);
  if (longest > MAX_HOST_ENTRY_LEN) {
    throw badFilter(
      field,
      `invalid host list: an entry of ${longest} characters (a host name and port have at ` +
        `most ${MAX_HOST_ENTRY_LEN})`,
      'give hosts as a list such as "host[1-4]:10001,host7"',
    );
  }
  let list: HostList;
  try {
    list = parseHostList(text);
  } catch (e) {
    throw badFilter(
      field,
      `invalid host list: ${cause(e)}`,
      'give hosts as a list such as "host[1-4]:10001,host7"',
    );
  }
  if (list.count > MAX_FILTER_HOSTS) throw tooMany(`names ${list.count} hosts,`);
  return list;
}
