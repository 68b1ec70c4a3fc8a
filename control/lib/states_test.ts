import {
  deepEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict";
import {
  completeStateNames,
  isLegalTransition,
  localState,
  maskStateNames,
  MemberState as S,
  NOT_OK_MASK,
  parseStateMask,
  parseWireState,
  REAL_STATE_NAMES,
  stateName,
  stateWireName,
  wireStateValue,
} from "./states.ts";

Deno.test("names and wire names", () => {
  assertEquals(stateName(S.AdminExcluded), "AdminExcluded");
  assertEquals(stateWireName(S.AdminExcluded), "adminexcluded");
  assertEquals(stateName(0x0800), "Unknown");
  assertEquals(REAL_STATE_NAMES.length, 11);
  assertEquals(NOT_OK_MASK, 0xfff7);
});

Deno.test("--with-states parsing is case-insensitive and trims spaces", () => {
  assertEquals(parseStateMask("JOINED,excluded"), S.Joined | S.Excluded);
  assertEquals(parseStateMask("Joined, Excluded"), S.Joined | S.Excluded);
  assertEquals(parseStateMask(REAL_STATE_NAMES.join(",")), 0x07ff);
  assertEquals(maskStateNames(S.Joined | S.Stopped), ["Joined", "Stopped"]);
});

Deno.test("--with-states rejects unknown names with the spec's message", () => {
  assertThrows(() => parseStateMask("Borked"), { message: 'invalid state name "Borked"' });
  assertThrows(() => parseStateMask("Unknown"), { message: 'invalid state name "Unknown"' });
  assertThrows(() => parseStateMask("Joined,Exclud"), { message: 'invalid state name "Exclud"' });
  assertThrows(() => parseStateMask("Joined,"), { message: 'invalid state name ""' });
});

Deno.test("completion follows the spec examples", () => {
  assertEquals(completeStateNames("Excl"), ["Excluded"]);
  assertEquals(completeStateNames("s"), ["Starting", "Stopped", "Stopping"]);
  assertEquals(completeStateNames("Starting,S"), ["Starting,Stopped", "Starting,Stopping"]);
});

Deno.test("transition table", () => {
  const illegal: [number, number][] = [
    [S.Joined, S.Joined],
    [S.Unknown, S.Joined],
    [S.AdminExcluded, S.Excluded],
    [S.AwaitFormat, S.Excluded],
    [S.Starting, S.Excluded],
    [S.Ready, S.Excluded],
    [S.Joined, S.Ready],
    [S.Errored, S.Stopping],
    [S.Unresponsive, S.Joined],
    [S.CheckerStarted, S.Ready],
    [S.Excluded, S.Stopped],
    [S.Excluded, S.Unresponsive],
  ];
  for (const [f, t] of illegal) {
    assert(!isLegalTransition(f, t), `${stateName(f)}->${stateName(t)}`);
  }
  const legal: [number, number][] = [
    [S.Joined, S.Stopped],
    [S.Stopped, S.Ready],
    [S.Ready, S.Joined],
    [S.Stopping, S.Excluded],
    [S.Excluded, S.Joined],
    [S.Excluded, S.AwaitFormat],
    [S.Errored, S.Stopped],
    [S.Stopped, S.AwaitFormat],
  ];
  for (const [f, t] of legal) assert(isLegalTransition(f, t), `${stateName(f)}->${stateName(t)}`);
});

Deno.test("local state rule", () => {
  assertEquals(localState({ ready: true, running: true, awaitingFormat: false }), S.Ready);
  assertEquals(localState({ ready: false, running: true, awaitingFormat: true }), S.Starting);
  assertEquals(localState({ ready: false, running: false, awaitingFormat: true }), S.AwaitFormat);
  assertEquals(localState({ ready: false, running: false, awaitingFormat: false }), S.Stopped);
});

Deno.test("wire names (the MS's member records) map to the same states and transitions", () => {
  // Every state has one wire name and back: the MS stores what dmg filters by bit.
  for (const [name, bit] of Object.entries(S)) {
    assertEquals(stateWireName(bit), name.toLowerCase());
    assertEquals(wireStateValue(stateWireName(bit)), bit);
  }
  // A stored name in any case reads as that state; anything else as unknown.
  assertEquals(parseWireState("AdminExcluded"), "adminexcluded");
  assertEquals(parseWireState("checkerstarted"), "checkerstarted");
  assertEquals(parseWireState("rebooting"), "unknown");
  assertEquals(parseWireState(""), "unknown");
  // The transition rule is one, whether states come as bits or as wire names.
  for (const f of Object.values(S)) {
    for (const t of Object.values(S)) {
      assertEquals(
        isLegalTransition(stateWireName(f), stateWireName(t)),
        isLegalTransition(f, t),
        `${stateName(f)}->${stateName(t)}`,
      );
    }
  }
  assert(isLegalTransition("joined", "errored"));
  assert(!isLegalTransition("excluded", "errored"));
});
