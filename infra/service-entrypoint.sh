#!/bin/sh
# The services' entry point in the images. Without AMQP_URL, it is built from AMQP_USER, AMQP_PASSWORD
# and AMQP_HOSTS (host:port[,host:port...], default rabbitmq:5672): one URL per broker node, comma-
# separated, so the compose file names no credentials and the cluster profile only changes the hosts.
set -eu
if [ -z "${AMQP_URL:-}" ] && [ -n "${AMQP_USER:-}" ]; then
  urls=""
  old_ifs="$IFS"; IFS=','
  for h in ${AMQP_HOSTS:-rabbitmq:5672}; do
    urls="${urls:+$urls,}amqp://${AMQP_USER}:${AMQP_PASSWORD:-}@${h}"
  done
  IFS="$old_ifs"
  export AMQP_URL="$urls"
fi
unset AMQP_PASSWORD
exec node --enable-source-maps "services/${SERVICE}/dist/main.js"
