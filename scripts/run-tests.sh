#!/usr/bin/env bash
# The whole test suite: generated-code freshness, fmt/lint/type-check, the engine's C unit
# tests (cmocka), then every Deno test (unit and integration). Prints one closing line
# "N passed, N failed" counting both C and Deno tests.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
deno=tools/node_modules/.bin/deno
log=$(mktemp -d /tmp/daos-tests.XXXXXX)
trap 'rm -rf "$log"' EXIT
fail=0
c_pass=0 c_fail=0

echo "== generated code is up to date"
bash scripts/gen-proto.sh "$log/gen" || fail=1
if ! diff -r "$log/gen" proto/gen >/dev/null; then
  echo "FAIL: proto/gen is stale; run 'deno task gen' and commit the result" >&2
  diff -r "$log/gen" proto/gen | head -20 >&2
  fail=1
fi

echo "== deno task check (fmt, lint, type-check)"
"$deno" task -q check || fail=1

if [ -f engine-ffi/native/Makefile ]; then
  # `all` first: the Deno tests below dlopen build/libdaos_engine.so (and run the helpers
  # built with it), which `make test` alone would leave stale after a C change.
  echo "== engine library and helpers (make all)"
  make -s -C engine-ffi/native all || fail=1
  echo "== C unit tests (cmocka)"
  make -s -C engine-ffi/native test 2>&1 | tee "$log/c.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || fail=1
  # cmocka closes each group with "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)".
  c_pass=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$log/c.txt" | awk '{s+=$4} END{print s+0}')
  c_fail=$(grep -Eo '^\[  FAILED  \] [0-9]+' "$log/c.txt" | awk '{s+=$4} END{print s+0}')
fi

echo "== Deno tests"
"$deno" test --allow-all --quiet "$@" 2>&1 | tee "$log/deno.txt"
[ "${PIPESTATUS[0]}" = 0 ] || fail=1
# Deno closes with "ok | 12 passed (3 steps) | 0 failed (1s)".
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log/deno.txt" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -1)
d_pass=$(echo "$summary" | sed -E 's/.*\| ([0-9]+) passed.*/\1/')
d_fail=$(echo "$summary" | sed -E 's/.*\| ([0-9]+) failed.*/\1/')
[ -n "$summary" ] || { d_pass=0; d_fail=1; fail=1; echo "FAIL: no Deno test summary" >&2; }

passed=$((c_pass + d_pass))
failed=$((c_fail + d_fail))
[ "$fail" = 0 ] || [ "$failed" -gt 0 ] || failed=1
echo
echo "${passed} passed, ${failed} failed"
[ "$fail" = 0 ] && [ "$failed" = 0 ]
