#!/bin/sh
# The official image's contract, in short: RABBITMQ_DEFAULT_USER/PASS become the first user (only on a
# fresh node), listeners on every interface, config fragments from /etc/rabbitmq/conf.d. Runs as rabbitmq.
set -eu
conf=/etc/rabbitmq/rabbitmq.conf
{
  echo 'loopback_users.guest = false'
  echo 'listeners.tcp.default = 5672'
  echo 'management.tcp.port = 15672'
  [ -n "${RABBITMQ_DEFAULT_USER:-}" ] && echo "default_user = $RABBITMQ_DEFAULT_USER"
  [ -n "${RABBITMQ_DEFAULT_PASS:-}" ] && echo "default_pass = $RABBITMQ_DEFAULT_PASS"
  for f in /etc/rabbitmq/conf.d/*.conf; do [ -f "$f" ] && cat "$f"; done
} > "$conf"
chown rabbitmq:rabbitmq "$conf" /var/lib/rabbitmq
chmod 600 "$conf"
if [ -n "${RABBITMQ_ERLANG_COOKIE:-}" ]; then
  printf '%s' "$RABBITMQ_ERLANG_COOKIE" > /var/lib/rabbitmq/.erlang.cookie
  chown rabbitmq:rabbitmq /var/lib/rabbitmq/.erlang.cookie
  chmod 400 /var/lib/rabbitmq/.erlang.cookie
fi
if [ "$1" = rabbitmq-server ]; then exec su rabbitmq -s /bin/sh -c 'exec "$0" "$@"' -- "$@"; fi
exec "$@"
