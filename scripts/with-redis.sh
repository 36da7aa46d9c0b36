#!/usr/bin/env bash
# Runs a command with a throwaway redis-server on a free loopback port.
#
#   scripts/with-redis.sh CMD [ARGS...]
#
# The command sees TENANTKIT_REDIS_ADDR (host:port of the server),
# TENANTKIT_REDIS_SERVER (path of the redis-server binary, for tests that run
# servers and Redis Clusters of their own) and TENANTKIT_REDIS_SENTINEL (path
# of redis-sentinel, for the Sentinel failover tests). If redis-server or
# redis-sentinel is missing and we are root with apt-get, the Debian packages
# are installed. The server is stopped when the command ends, whatever its
# exit status.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || missing+=(redis-sentinel)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "with-redis: installing ${missing[*]}" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null
		apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
fi

if ! command -v redis-server >/dev/null 2>&1; then
	echo "with-redis: redis-server not found and cannot be installed; Redis tests will skip (or fail under CI=true)" >&2
	exec "$@"
fi

. "$(dirname "$0")/lib.sh"
port=$(free_port)

dir=$(mktemp -d)
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
	--maxmemory-policy noeviction --dir "$dir" --daemonize no \
	--logfile "$dir/redis.log" &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
	sleep 0.05
done

export TENANTKIT_REDIS_ADDR="127.0.0.1:$port"
export TENANTKIT_REDIS_SERVER TENANTKIT_REDIS_SENTINEL
TENANTKIT_REDIS_SERVER=$(command -v redis-server)
# Without redis-sentinel the tests run redis-server --sentinel, which works
# with every redis-server build.
TENANTKIT_REDIS_SENTINEL=$(command -v redis-sentinel || true)
echo "with-redis: redis-server on $TENANTKIT_REDIS_ADDR" >&2
"$@"
