/**
 * Member states (dmg.md §9.1, server.md §5.4): bit flags, names, `--with-states` parsing,
 * legal automatic transitions (dmg.md §9.2) and the local engine state rule (server.md §4.1).
 */

/** Member state bit values (used directly in `SystemQueryReq.state_mask`). */
export const MemberState = {
  Unknown: 0x0000,
  AwaitFormat: 0x0001,
  Starting: 0x0002,
  Ready: 0x0004,
  Joined: 0x0008,
  Stopping: 0x0010,
  Stopped: 0x0020,
  Excluded: 0x0040,
  Errored: 0x0080,
  Unresponsive: 0x0100,
  AdminExcluded: 0x0200,
  CheckerStarted: 0x0400,
} as const;

/** Capitalised state name, as printed in tables. */
export type MemberStateName = keyof typeof MemberState;

/** A single member state value. */
export type MemberStateValue = (typeof MemberState)[MemberStateName];

/**
 * Lower-case state name, as the MS database stores it and replies carry it (`joined`,
 * `adminexcluded`): the capitalised names of {@link MemberState}, lower-cased.
 */
export type MemberStateWireName = Lowercase<MemberStateName>;

/** Mask matching every state ("all"). */
export const ALL_STATES_MASK = 0xffff;
/** Mask for `--not-ok`: everything but Joined. */
export const NOT_OK_MASK = ALL_STATES_MASK & ~MemberState.Joined;
/** States in which a member can serve (pool create, erase check). */
export const AVAILABLE_MASK = MemberState.Ready | MemberState.Joined;
/** States whose members are left out of the system group map. */
export const EXCLUDED_FROM_GROUP_MAP_MASK = MemberState.AwaitFormat | MemberState.Excluded |
  MemberState.AdminExcluded;

const nameByValue = new Map<number, MemberStateName>(
  (Object.entries(MemberState) as [MemberStateName, number][]).map(([k, v]) => [v, k]),
);

/** The 11 real (filterable) state names, sorted alphabetically (shell completion order). */
export const REAL_STATE_NAMES: readonly MemberStateName[] = (
  Object.keys(MemberState) as MemberStateName[]
).filter((n) => n !== "Unknown").sort();

const valueByWireName = new Map<string, MemberStateValue>(
  (Object.entries(MemberState) as [MemberStateName, MemberStateValue][]).map((
    [k, v],
  ) => [k.toLowerCase(), v]),
);

/** Capitalised name of a state value; unrecognised values give `Unknown`. */
export function stateName(state: number): MemberStateName {
  return nameByValue.get(state) ?? "Unknown";
}

/** Lower-case name used on the wire and in JSON (`joined`, `adminexcluded`, …). */
export function stateWireName(state: number): MemberStateWireName {
  return stateName(state).toLowerCase() as MemberStateWireName;
}

/** State bit of a lower-case wire name (`SystemQueryReq.state_mask` filtering). */
export function wireStateValue(name: MemberStateWireName): MemberStateValue {
  return valueByWireName.get(name) ?? MemberState.Unknown;
}

/**
 * Parses a stored or received state name (any case); names that are no state give "unknown"
 * (a record written by a newer or broken writer stays readable).
 */
export function parseWireState(s: string): MemberStateWireName {
  const l = s.toLowerCase();
  return valueByWireName.has(l) ? l as MemberStateWireName : "unknown";
}

/**
 * Parses a state name case-insensitively (`joined`, `AdminExcluded`). Throws
 * `invalid state name "<name>"` for anything else, including `Unknown`.
 */
export function parseStateName(name: string): MemberStateValue {
  const wanted = name.trim().toLowerCase();
  const found = REAL_STATE_NAMES.find((n) => n.toLowerCase() === wanted);
  if (found === undefined) {
    throw new Error(`invalid state name "${name.trim()}"`, {
      cause: new Error(`valid names: ${REAL_STATE_NAMES.join(", ")}`),
    });
  }
  return MemberState[found];
}

/**
 * Parses a `--with-states` list (`JOINED,excluded`, `Joined, Excluded`) to a state mask.
 * Empty entries are rejected like unknown names.
 */
export function parseStateMask(list: string): number {
  let mask = 0;
  for (const part of list.split(",")) mask |= parseStateName(part);
  return mask;
}

/** Names of the states set in `mask`, in bit order. */
export function maskStateNames(mask: number): MemberStateName[] {
  return (Object.entries(MemberState) as [MemberStateName, number][])
    .filter(([, v]) => v !== 0 && (mask & v) !== 0)
    .map(([k]) => k);
}

/**
 * Completion candidates for a partly typed `--with-states` value: names not yet typed whose
 * lower-case form starts with the last (partial) entry, each returned with the typed prefix
 * (`Starting,S` → `Starting,Stopped`, `Starting,Stopping`).
 */
export function completeStateNames(typed: string): string[] {
  const parts = typed.split(",");
  const partial = (parts.pop() ?? "").trim().toLowerCase();
  const done = new Set(parts.map((p) => p.trim().toLowerCase()));
  const head = parts.length > 0 ? parts.join(",") + "," : "";
  return REAL_STATE_NAMES.filter((n) =>
    !done.has(n.toLowerCase()) && n.toLowerCase().startsWith(partial)
  ).map((n) => head + n);
}

const S = MemberState;
/** from → states it may not go to automatically (besides itself). */
const illegal: ReadonlyMap<number, number> = new Map([
  [S.AwaitFormat, S.Excluded],
  [S.Starting, S.Excluded],
  [S.Ready, S.Excluded],
  [S.Joined, S.Ready],
  [S.Errored, S.Ready | S.Joined | S.Stopping],
  [S.Unresponsive, S.Ready | S.Joined | S.Stopping],
  [S.CheckerStarted, S.Ready | S.Joined],
  [S.Excluded, S.Errored | S.Stopping | S.Stopped | S.Starting | S.Ready | S.Unresponsive],
]);

/**
 * Whether an automatic state change (operation results, SWIM, engine events) is allowed
 * (dmg.md §9.2). Join, exclude and clear-exclude bypass this check. States are bit values or
 * lower-case wire names (the MS's member records).
 */
export function isLegalTransition(
  fromState: number | MemberStateWireName,
  toState: number | MemberStateWireName,
): boolean {
  const from = typeof fromState === "number" ? fromState : wireStateValue(fromState);
  const to = typeof toState === "number" ? toState : wireStateValue(toState);
  if (from === to) return false;
  if (from === S.Unknown || from === S.AdminExcluded) return false;
  return ((illegal.get(from) ?? 0) & to) === 0;
}

/** Facts about one local engine instance used to derive its reported state. */
export interface LocalEngineFacts {
  /** dRPC-ready (joined, SetRank/SetUp done). */
  ready: boolean;
  /** The engine process is running. */
  running: boolean;
  /** The instance is waiting for storage format. */
  awaitingFormat: boolean;
}

/**
 * State a daos_server reports for a local engine (dmg.md §9.2): Ready if dRPC-ready, else
 * Starting if the process runs, else AwaitFormat if waiting for format, else Stopped.
 */
export function localState(f: LocalEngineFacts): MemberStateValue {
  if (f.ready && f.running) return S.Ready;
  if (f.running) return S.Starting;
  if (f.awaitingFormat) return S.AwaitFormat;
  return S.Stopped;
}
