#!/usr/bin/env bash
# gen-certs.sh [--ec] [--days N] DIR
#
# Generates the DAOS certificate layout (server.md §7.1) under DIR with openssl:
#   DIR/daosCA.crt  DIR/daosCA.key          CA, CN "DAOS CA", CA:true pathlen 1
#   DIR/server.crt  DIR/server.key          CN server, serverAuth + clientAuth
#   DIR/admin.crt   DIR/admin.key           CN admin,  clientAuth
#   DIR/agent.crt   DIR/agent.key           CN agent,  clientAuth
#   DIR/clients/agent.crt DIR/clients/admin.crt   copies for servers' client_cert_dir
# Keys are mode 0400, certificates 0644. Organisation "DAOS" in all subjects.
#
# Default keys are RSA 3072 (as DAOS); --ec uses P-256 keys, which are much faster to make
# (tests). Existing files in DIR are not overwritten: the script refuses instead.
set -euo pipefail

usage() {
  echo "usage: $0 [--ec] [--days N] DIR" >&2
  exit 2
}

ec=0
days=1095
while (($#)); do
  case "$1" in
    --ec) ec=1; shift ;;
    --days) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || usage; days=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "gen-certs.sh: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[[ $# -eq 1 ]] || usage
dir=$1

command -v openssl >/dev/null || {
  echo "gen-certs.sh: openssl not found: install it (apt-get install openssl)" >&2
  exit 1
}
mkdir -p "$dir/clients"
for f in daosCA.crt daosCA.key server.crt server.key admin.crt admin.key agent.crt agent.key; do
  if [[ -e "$dir/$f" ]]; then
    echo "gen-certs.sh: $dir/$f already exists: remove it or choose another directory" >&2
    exit 1
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# newkey FILE: a private key of the selected type, mode 0400.
newkey() {
  if ((ec)); then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  else
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$1" 2>/dev/null
  fi
  chmod 0400 "$1"
}

newkey "$dir/daosCA.key"
cat >"$work/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
O = DAOS
CN = DAOS CA
[v3_ca]
basicConstraints = critical, CA:true, pathlen:1
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
EOF
openssl req -new -x509 -key "$dir/daosCA.key" -config "$work/ca.cnf" -days "$days" \
  -sha256 -out "$dir/daosCA.crt"
chmod 0644 "$dir/daosCA.crt"

# leaf NAME EKU: NAME.key/NAME.crt signed by the CA, CN = NAME.
leaf() {
  local name=$1 eku=$2 ku=digitalSignature
  ((ec)) || ku="digitalSignature, keyEncipherment"
  newkey "$dir/$name.key"
  openssl req -new -key "$dir/$name.key" -subj "/O=DAOS/CN=$name" -out "$work/$name.csr"
  cat >"$work/$name.ext" <<EOF
basicConstraints = critical, CA:false
keyUsage = critical, $ku
extendedKeyUsage = $eku
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  openssl x509 -req -in "$work/$name.csr" -CA "$dir/daosCA.crt" -CAkey "$dir/daosCA.key" \
    -CAcreateserial -CAserial "$work/ca.srl" -days "$days" -sha256 \
    -extfile "$work/$name.ext" -out "$dir/$name.crt" 2>/dev/null
  chmod 0644 "$dir/$name.crt"
}

leaf server "serverAuth, clientAuth"
leaf admin clientAuth
leaf agent clientAuth
cp "$dir/agent.crt" "$dir/admin.crt" "$dir/clients/"
echo "certificates written to $dir"
