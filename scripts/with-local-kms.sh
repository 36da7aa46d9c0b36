#!/usr/bin/env bash
# Runs a command with a throwaway KMS-compatible server (local-kms, built
# from the Go module proxy) on a free port.
#
#   scripts/with-local-kms.sh CMD [ARGS...]
#
# The command sees TENANTKIT_KMS_ENDPOINT (http://127.0.0.1:PORT) and
# TENANTKIT_KMS_REGION (the region the server answers as; its account is
# 111122223333). The binary is built once into .cache/bin at the root of the
# repository (git-ignored) and reused from there; the server keeps its keys
# in a temporary directory, removed when the command ends, whatever its exit
# status. local-kms has no option for its listening address (it binds every
# interface), so the script builds it from the downloaded module source with
# that one line bound to 127.0.0.1; should the line ever not be found, it
# installs the module unchanged and says so. If Go is missing or the build
# fails, the command runs without the variable: the KMS tests then skip, or
# fail under CI=true.
set -euo pipefail

module=github.com/nsmithuk/local-kms
version=v0.0.0-20260228092603-2a5e92d09ab6
region=us-east-1
root=$(cd "$(dirname "$0")/.." && pwd)
bindir="$root/.cache/bin"
bin="$bindir/local-kms"
stamp="$bindir/local-kms.version"

stampval="$version loopback"
if [ ! -x "$bin" ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$stampval" ]; then
	if ! command -v go >/dev/null 2>&1; then
		echo "with-local-kms: go not found; KMS tests will skip (or fail under CI=true)" >&2
		exec "$@"
	fi
	echo "with-local-kms: building $module@$version into $bindir" >&2
	mkdir -p "$bindir"
	src=$(mktemp -d)
	built=""
	# Outside the workspace, so that go.work plays no part in the build.
	dir=$(cd / && GOWORK=off go mod download -json "$module@$version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || true
	if [ -n "$dir" ] && cp -R "$dir/." "$src/" && chmod -R u+w "$src" &&
		grep -q 'addr := ":"+port' "$src/src/server.go"; then
		sed -i 's|addr := ":"+port|addr := "127.0.0.1:"+port|' "$src/src/server.go"
		if (cd "$src" && GOWORK=off go build -o "$bin" .) >&2; then
			built="$stampval"
		fi
	fi
	rm -rf "$src"
	if [ -z "$built" ]; then
		echo "with-local-kms: cannot bind local-kms to loopback; installing it unchanged (it listens on every interface)" >&2
		if (cd / && GOWORK=off GOBIN="$bindir" go install "$module@$version") >&2; then
			built="$version"
		else
			echo "with-local-kms: go install failed; KMS tests will skip (or fail under CI=true)" >&2
			exec "$@"
		fi
	fi
	echo "$built" >"$stamp"
fi

. "$(dirname "$0")/lib.sh"
port=$(free_port)

dir=$(mktemp -d)
PORT="$port" KMS_REGION="$region" KMS_ACCOUNT_ID=111122223333 \
	KMS_DATA_PATH="$dir/data" KMS_SEED_PATH="$dir/no-seed.yaml" \
	"$bin" >"$dir/local-kms.log" 2>&1 &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

if ! wait_port "$port" "$pid"; then
	echo "with-local-kms: local-kms did not start on 127.0.0.1:$port:" >&2
	cat "$dir/local-kms.log" >&2
	exit 1
fi

export TENANTKIT_KMS_ENDPOINT="http://127.0.0.1:$port"
export TENANTKIT_KMS_REGION="$region"
echo "with-local-kms: local-kms on $TENANTKIT_KMS_ENDPOINT" >&2
"$@"
