#!/bin/sh
# The authorization block of compose.yaml's NATS cluster, from the passwords in the env file.
#
# For each user of `alpha-panda ops nats-config` (feed, strategies, owner, bridge, web,
# control, operator, ...), NATS_PASSWORD_<USER> names its password; a user without one gets
# a random password nobody holds. Writes OUT_DIR/authorization.conf (bcrypt hashes only,
# what the servers include); the plaintext stays in a private temporary directory that is
# removed on exit, so nothing but hashes reaches the servers' volume.
#
# usage: nats-auth.sh [OUT_DIR]   (default /app/nats-auth, the volume the servers mount)
set -eu
out_dir="${1:-/app/nats-auth}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
umask 077
python - "$work/passwords.json" <<'PY'
import json
import os
import sys

from schemas.permissions import USERS

chosen = {
    user: os.environ[f"NATS_PASSWORD_{user.upper()}"]
    for user in USERS
    if os.environ.get(f"NATS_PASSWORD_{user.upper()}")
}
if not chosen:
    sys.exit("nats-auth: no NATS_PASSWORD_<USER> is set; fill them in .env (see .env.example)")
with open(sys.argv[1], "w") as f:
    json.dump(chosen, f)
print(f"nats-auth: passwords for {', '.join(chosen)} from the environment")
PY
alpha-panda ops nats-config --out "$work/authorization.conf" --passwords "$work/passwords.json" >/dev/null
umask 022
mkdir -p "$out_dir"
cp "$work/authorization.conf" "$out_dir/authorization.conf.tmp"
chmod 0644 "$out_dir/authorization.conf.tmp"  # hashes only; the servers may run as any user
mv "$out_dir/authorization.conf.tmp" "$out_dir/authorization.conf"
echo "nats-auth: wrote $out_dir/authorization.conf"
