#!/usr/bin/env bash
# Runs a command with the wrk HTTP load generator at hand.
#
#   scripts/with-wrk.sh CMD [ARGS...]
#
# The command sees TENANTKIT_WRK, the path of the wrk binary. If wrk is
# missing and we are root with apt-get, the Debian package is installed.
# Without wrk the command still runs, without TENANTKIT_WRK: the load
# smoke test then skips (or fails under CI=true).
set -euo pipefail

if ! command -v wrk >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "with-wrk: installing wrk" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null || true
		apt-get install -y -qq wrk >/dev/null || echo "with-wrk: apt-get install wrk failed" >&2
	fi
fi

if command -v wrk >/dev/null 2>&1; then
	TENANTKIT_WRK=$(command -v wrk)
	export TENANTKIT_WRK
else
	echo "with-wrk: wrk not found and cannot be installed; the load smoke test will skip (or fail under CI=true)" >&2
fi
exec "$@"
