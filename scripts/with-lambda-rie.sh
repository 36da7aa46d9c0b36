#!/usr/bin/env bash
# Runs a command with the AWS Lambda Runtime Interface Emulator built and on
# hand, for tests that run real function binaries under it.
#
#   scripts/with-lambda-rie.sh CMD [ARGS...]
#
# The command sees TENANTKIT_LAMBDA_RIE, the path of the aws-lambda-rie
# binary. The emulator serves one function per process, so the tests start
# one per function themselves, each on a free loopback port
# (--runtime-interface-emulator-address and --runtime-api-address), and
# stop it when they end. The binary is built once from the Go module proxy
# into .cache/bin at the root of the repository (git-ignored) and reused
# from there. If Go is missing or the build fails, the command runs without
# the variable: the Lambda runtime tests then skip, or fail under CI=true.
set -euo pipefail

module=github.com/aws/aws-lambda-runtime-interface-emulator
version=v0.0.0-20261030222936-bef5c4ba774d
root=$(cd "$(dirname "$0")/.." && pwd)
bindir="$root/.cache/bin"
bin="$bindir/aws-lambda-rie"
stamp="$bindir/aws-lambda-rie.version"

if [ ! -x "$bin" ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$version" ]; then
	if ! command -v go >/dev/null 2>&1; then
		echo "with-lambda-rie: go not found; Lambda runtime tests will skip (or fail under CI=true)" >&2
		exec "$@"
	fi
	echo "with-lambda-rie: building aws-lambda-rie@$version into $bindir" >&2
	mkdir -p "$bindir"
	# Outside any module, so that the repository's go.work plays no part.
	if ! (cd "$bindir" && GOWORK=off GOFLAGS=-mod=mod GOBIN="$bindir" \
		go install "$module/cmd/aws-lambda-rie@$version") >&2; then
		# go install refuses a module whose go.mod has replace directives;
		# build inside the downloaded module then.
		dir=$(cd "$bindir" && GOWORK=off go mod download -json "$module@$version" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		if [ -z "$dir" ] || ! (cd "$dir" && GOWORK=off GOFLAGS=-mod=mod \
			go build -o "$bin" ./cmd/aws-lambda-rie) >&2; then
			echo "with-lambda-rie: build failed; Lambda runtime tests will skip (or fail under CI=true)" >&2
			exec "$@"
		fi
	fi
	echo "$version" >"$stamp"
fi

export TENANTKIT_LAMBDA_RIE="$bin"
echo "with-lambda-rie: aws-lambda-rie at $TENANTKIT_LAMBDA_RIE" >&2
"$@"
