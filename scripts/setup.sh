#!/usr/bin/env bash
# Installs everything the project needs, idempotently: Debian packages (apt), the Deno runtime
# and the protobuf generator (npm, into tools/node_modules), the Deno program's npm packages
# (into node_modules, from deno.lock), and the native engine library. Each step is skipped
# when its result is already there, so a second run takes about a second.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
say() { echo "setup: $*" >&2; }

apt_pkgs=(etcd-server etcd-client protobuf-compiler protobuf-c-compiler libprotobuf-c-dev
  libcmocka-dev pkg-config gcc make iproute2 util-linux e2fsprogs clang libclang-rt-14-dev
  libjson-c-dev iputils-ping openssl libfabric-dev libfabric-bin libpmemobj-dev zsh prometheus)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages: ${missing[*]}; run this script as root (or: sudo apt-get install ${missing[*]})"
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

want_deno=$(node -p 'require("./tools/package.json").devDependencies.deno')
have_deno=$(tools/node_modules/.bin/deno --version 2>/dev/null | awk 'NR==1{print $2}' || true)
if [ "$have_deno" != "$want_deno" ] || [ ! -x tools/node_modules/.bin/protoc-gen-es ]; then
  say "installing Deno $want_deno and protoc-gen-es from npm"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi
deno=tools/node_modules/.bin/deno

# npm packages of the Deno programs, pinned by deno.lock.
if [ ! -f node_modules/.deno/.setup-stamp ] || [ deno.lock -nt node_modules/.deno/.setup-stamp ] \
  || [ deno.json -nt node_modules/.deno/.setup-stamp ]; then
  say "installing the Deno programs' npm packages"
  "$deno" install --quiet --frozen
  mkdir -p node_modules/.deno && touch node_modules/.deno/.setup-stamp
fi

if [ -f engine-ffi/native/Makefile ]; then
  make -s -C engine-ffi/native >/dev/null
fi

# bin/dmg's bundle and cached command tree (bin/dmg also remakes it when a source is newer).
"$deno" run --quiet -A scripts/build-dmg.ts "$PWD"
