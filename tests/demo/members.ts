/**
 * Reading `dmg -j system query` output: the member list and whether the system is up
 * (the expected number of ranks, all Joined).
 */

/** One member as the demo needs it. */
export interface MemberState {
  rank: number;
  state: string;
  addr: string;
}

/**
 * Members from the `-j` envelope of `dmg system query` (dmg.md §5.1: `response.members`,
 * lower-case states; `null` when empty). Throws naming what is wrong with the text.
 */
export function parseMembers(stdout: string): MemberState[] {
  let env: unknown;
  try {
    env = JSON.parse(stdout);
  } catch {
    throw new Error(`dmg -j system query printed no JSON: ${stdout.slice(0, 200)}`);
  }
  const resp = (env as { response?: { members?: unknown } } | null)?.response;
  if (resp === undefined || resp === null) {
    throw new Error(`dmg -j system query: no response in ${stdout.slice(0, 200)}`);
  }
  if (resp.members === null || resp.members === undefined) return [];
  if (!Array.isArray(resp.members)) throw new Error("dmg -j system query: members is not a list");
  return resp.members.map((m: unknown, i: number) => {
    const o = m as Record<string, unknown>;
    if (typeof o?.rank !== "number" || typeof o.state !== "string") {
      throw new Error(`dmg -j system query: member ${i} lacks rank/state`);
    }
    return { rank: o.rank, state: o.state, addr: typeof o.addr === "string" ? o.addr : "" };
  });
}

/** Count of Joined members. */
export function joinedCount(members: readonly MemberState[]): number {
  return members.filter((m) => m.state === "joined").length;
}

/** True when exactly `want` members exist and all are Joined. */
export function allJoined(members: readonly MemberState[], want: number): boolean {
  return members.length === want && joinedCount(members) === want;
}

/** Short text like "4 joined, 1 stopped, 1 awaitformat" for progress lines. */
export function summarizeStates(members: readonly MemberState[]): string {
  const counts = new Map<string, number>();
  for (const m of members) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([s, n]) => `${n} ${s}`).join(", ");
}
