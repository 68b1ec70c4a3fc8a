#!/usr/bin/env bash
# Generates TypeScript (protoc-gen-es) and C (protoc-c) code from proto/ into OUT
# (default: proto/gen). Deterministic: same inputs, same bytes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/proto/gen}
cd "$top/proto"
mapfile -t all < <(find . -name '*.proto' -not -path './gen/*' | sed 's|^\./||' | LC_ALL=C sort)
# The engine (C) needs only the messages it speaks over dRPC.
c_protos=(drpc/drpc.proto srv/srv.proto mgmt/srv.proto mgmt/pool.proto mgmt/pool_engine.proto ctl/smd.proto shared/event.proto)
rm -rf "$out/ts" "$out/c"
mkdir -p "$out/ts" "$out/c"
protoc -I . --plugin=protoc-gen-es="$top/tools/node_modules/.bin/protoc-gen-es" \
  --es_out="$out/ts" --es_opt=target=ts,import_extension=ts "${all[@]}"
protoc-c -I . --c_out="$out/c" "${c_protos[@]}"
