#!/usr/bin/env bash
# Creates a certificate authority and the broker's server certificate with openssl (EC P-256, SHA-256).
#
# Usage: make-certs.sh OUT_DIR SERVER_NAME [SAN ...]
#   make-certs.sh /etc/mosquitto/tichwatch mqtt.kieuphu.example IP:203.0.113.7
# OUT_DIR receives ca.key (the CA's private key: keep it offline after use), ca.crt (give it to gateways and the
# service: tls_ca_file), server.key and server.crt (the broker's). An existing CA in OUT_DIR is reused, so running
# the script again renews only the server certificate. SERVER_NAME is the host name gateways connect to; add an
# IP:... SAN when they connect by address. DAYS sets the server certificate's validity (default 825).
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi
out=$1 name=$2
shift 2
days=${DAYS:-825}
umask 077
mkdir -p "$out"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256)

if [ ! -f "$out/ca.key" ]; then
  openssl req -x509 "${ec[@]}" -days 3650 -subj "/O=TichWatch/CN=TichWatch MQTT CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
fi

san="DNS:$name"
for extra in "$@"; do san="$san,$extra"; done
ext=$(mktemp)
trap 'rm -f "$ext" "$out/server.csr"' EXIT
printf '%s\n' "subjectAltName=$san" "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" > "$ext"
openssl req -new "${ec[@]}" -subj "/O=TichWatch/CN=$name" -keyout "$out/server.key" -out "$out/server.csr" 2>/dev/null
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial -days "$days" \
  -sha256 -extfile "$ext" -out "$out/server.crt" 2>/dev/null
chmod 644 "$out/ca.crt" "$out/server.crt"
if [ "$(id -u)" -eq 0 ] && getent group mosquitto >/dev/null; then
  chgrp mosquitto "$out/server.key" && chmod 640 "$out/server.key"  # the broker runs as user mosquitto
fi
echo "CA: $out/ca.crt; broker: $out/server.crt ($san), valid $days days" >&2
