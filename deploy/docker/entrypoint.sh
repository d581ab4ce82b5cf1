#!/bin/sh
# The image's entry point: runs one helpdesk process, chosen by name.
set -eu

usage() {
    cat <<'USAGE'
usage: <image> COMMAND [ARGS...]
  identity | tickets | notifier | mailgate | gateway   run that service (settings: HELPDESK_* variables)
  setup SERVICE                              migrate SERVICE's schema and declare the JetStream
                                             streams, then exit (safe from many replicas at once)
  helpdesk ARGS...                           the operator CLI (create admins, dead letters, rebuilds)
  healthcheck                                exit 0 when this container's /healthz answers
                                             (on HELPDESK_OPS_PORT if set: the gateway)
USAGE
}

# Docker and compose secrets arrive as files: HELPDESK_X_FILE=/run/secrets/x sets
# HELPDESK_X to the file's content (unless HELPDESK_X is set already).
for file_var in $(env | sed -n 's/^\(HELPDESK_[A-Z0-9_]*_FILE\)=.*/\1/p'); do
    var="${file_var%_FILE}"
    if [ -z "$(printenv "$var" || true)" ]; then
        path="$(printenv "$file_var")"
        value="$(cat "$path")"
        export "$var=$value"
    fi
done

command="${1:-}"
[ "$#" -gt 0 ] && shift
case "$command" in
    identity|tickets|notifier|mailgate|gateway)
        exec python -m "helpdesk.$command" "$@" ;;
    setup)
        exec python /app/helpdesk_setup.py "$@" ;;
    helpdesk)
        exec helpdesk "$@" ;;
    healthcheck)
        exec python -c 'import os, urllib.request
port = os.environ.get("HELPDESK_OPS_PORT") or os.environ.get("HELPDESK_HTTP_PORT", "8080")
urllib.request.urlopen("http://127.0.0.1:%s/healthz" % port, timeout=3)' ;;
    -h|--help|help|"")
        usage ;;
    *)
        echo "unknown command: $command" >&2
        usage >&2
        exit 64 ;;
esac
