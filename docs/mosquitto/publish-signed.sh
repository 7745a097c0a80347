#!/usr/bin/env bash
# Publishes one HMAC-signed message as a gateway does: the reference for gateway vendors (MQTT 5 is required for
# user properties). The signature is HMAC-SHA256, in hex, over "<topic>\n<sig_ts>\n<nonce>\n" followed by the payload.
#
# Usage: TICHWATCH_KEY=<gateway key> publish-signed.sh TOPIC PAYLOAD [mosquitto_pub options]
#   TICHWATCH_KEY=$KEY publish-signed.sh tich/v1/water/tich-vinhphuc/reading '{"ts": 1790000000, "level_m": 7.42}' \
#     -h mqtt.kieuphu.example -p 8883 --cafile ca.crt -u gw-vinhphuc -P "$PASSWORD"
set -euo pipefail
if [ $# -lt 2 ] || [ -z "${TICHWATCH_KEY:-}" ]; then
  sed -n '2,8s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi
topic=$1 payload=$2
shift 2
sig_ts=$(date +%s)
nonce=$(openssl rand -hex 16)
sig=$(printf '%s\n%s\n%s\n%s' "$topic" "$sig_ts" "$nonce" "$payload" \
  | openssl dgst -sha256 -hmac "$TICHWATCH_KEY" -r | cut -d' ' -f1)
exec mosquitto_pub -V mqttv5 -q 1 -t "$topic" -m "$payload" -D publish user-property sig "$sig" \
  -D publish user-property sig_ts "$sig_ts" -D publish user-property nonce "$nonce" "$@"
