#!/usr/bin/env bash
# Adds a broker user (a gateway, the service, a reader) to a Mosquitto password file, or resets its password,
# without the password ever appearing on a command line (mosquitto_passwd -b would show it in `ps`).
#
# Usage: add-user.sh PASSWD_FILE USERNAME
#   add-user.sh /etc/mosquitto/tichwatch/passwd gw-vinhphuc           # generates a password and prints it once
#   printf '%s' "$PASSWORD" | add-user.sh /etc/mosquitto/tichwatch/passwd tichwatch   # takes it from stdin
# Then give the gateway its user name and password, and reload the broker: systemctl reload mosquitto.
# One user per gateway, reader and the service: the broker uses the user name as the client id (tichwatch.conf), so
# two devices sharing a user would keep disconnecting each other.
set -euo pipefail
if [ $# -ne 2 ]; then
  sed -n '2,11s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi
file=$1 user=$2
if ! [[ $user =~ ^[A-Za-z0-9_.-]{1,64}$ ]]; then
  echo "user names are 1-64 characters of A-Z a-z 0-9 _ . -" >&2
  exit 2
fi
generated=0
if [ -t 0 ]; then
  password=$(openssl rand -base64 24)
  generated=1
else
  IFS= read -r password || [ -n "$password" ]
  if [ -z "$password" ]; then echo "empty password on stdin" >&2; exit 2; fi
fi
umask 077
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.new"' EXIT
printf '%s:%s\n' "$user" "$password" > "$tmp"
mosquitto_passwd -U "$tmp"  # hashes the plain-text file in place (PBKDF2-SHA512)
touch "$file"
{ grep -v "^$user:" "$file" || true; cat "$tmp"; } > "$tmp.new"
cat "$tmp.new" > "$file"  # rewrite in place: keeps the file's owner and mode
if [ "$(id -u)" -eq 0 ] && getent group mosquitto >/dev/null; then
  chgrp mosquitto "$file" && chmod 640 "$file"
fi
if [ "$generated" -eq 1 ]; then echo "$password"; fi
echo "$user set in $file; reload the broker: systemctl reload mosquitto" >&2
