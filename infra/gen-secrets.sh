#!/bin/sh
# Writes the passwords the compose stack needs to .env (git-ignored; docker compose reads it), each a
# fresh random hex string. Keeps an existing .env: delete it (and the volumes: `docker compose down -v`)
# to start over with new ones.
#   infra/gen-secrets.sh [FILE]        default: .env next to docker-compose.yml
set -eu
file="${1:-$(cd "$(dirname "$0")/.." && pwd)/.env}"
if [ -e "$file" ]; then echo "$file exists: keeping it" >&2; exit 0; fi
rand() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
umask 077
cat > "$file" <<OUT
POSTGRES_PASSWORD=$(rand)
RABBITMQ_ADMIN_USER=admin
RABBITMQ_ADMIN_PASSWORD=$(rand)
RABBITMQ_ERLANG_COOKIE=$(rand)
ACCOUNTS_BROKER_PASSWORD=$(rand)
PERSISTENCE_BROKER_PASSWORD=$(rand)
DELIVERY_BROKER_PASSWORD=$(rand)
GATEWAY_BROKER_PASSWORD=$(rand)
OUT
echo "wrote $file" >&2
