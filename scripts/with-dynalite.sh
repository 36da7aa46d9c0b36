#!/usr/bin/env bash
# Runs a command with a throwaway DynamoDB-compatible server (dynalite, from
# the npm registry) on a free loopback port.
#
#   scripts/with-dynalite.sh CMD [ARGS...]
#
# The command sees TENANTKIT_DYNAMODB_ENDPOINT (http://127.0.0.1:PORT). The
# npm package is installed once into .cache/dynalite at the root of the
# repository (git-ignored) and reused from there; the server keeps its
# tables in memory, so nothing is left behind. It is stopped when the command
# ends, whatever its exit status. If Node.js or npm is missing, or the
# install fails, the command runs without the variable: the DynamoDB tests
# then skip, or fail under CI=true.
set -euo pipefail

version=4.0.0
root=$(cd "$(dirname "$0")/.." && pwd)
prefix="$root/.cache/dynalite"
cli="$prefix/node_modules/dynalite/cli.js"

if ! command -v node >/dev/null 2>&1; then
	echo "with-dynalite: node not found; DynamoDB tests will skip (or fail under CI=true)" >&2
	exec "$@"
fi

installed=$(node -p "require('$prefix/node_modules/dynalite/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$version" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "with-dynalite: npm not found; DynamoDB tests will skip (or fail under CI=true)" >&2
		exec "$@"
	fi
	echo "with-dynalite: installing dynalite@$version into $prefix" >&2
	mkdir -p "$prefix"
	# The package.json keeps npm from walking up to a package of its own.
	[ -f "$prefix/package.json" ] || echo '{"private": true}' >"$prefix/package.json"
	if ! npm install --prefix "$prefix" --no-save --no-audit --no-fund \
		--loglevel=error "dynalite@$version" >&2; then
		echo "with-dynalite: npm install failed; DynamoDB tests will skip (or fail under CI=true)" >&2
		exec "$@"
	fi
fi

. "$(dirname "$0")/lib.sh"
port=$(free_port)

# Without --path dynalite keeps everything in memory. The table operations
# answer at once (no CREATING phase), so the tests do not wait.
log=$(mktemp)
node "$cli" --host 127.0.0.1 --port "$port" --createTableMs 0 --deleteTableMs 0 \
	--updateTableMs 0 >"$log" 2>&1 &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$log"
}
trap cleanup EXIT INT TERM

if ! wait_port "$port" "$pid"; then
	echo "with-dynalite: dynalite did not start on 127.0.0.1:$port:" >&2
	cat "$log" >&2
	exit 1
fi

export TENANTKIT_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
echo "with-dynalite: dynalite on $TENANTKIT_DYNAMODB_ENDPOINT" >&2
"$@"
