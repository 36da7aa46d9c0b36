#!/usr/bin/env bash
# footprint.sh measures what a service pays for importing one tenantkit
# package: it builds a small consumer module per case (a net/http or gRPC
# server that uses the package) against this checkout and prints, per case,
# the non-standard-library packages linked, the modules in its go list -m
# all, and the stripped binary size, beside a bare net/http server.
set -euo pipefail
# The checkout to measure: this one, or the directory given.
repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOWORK=off GOFLAGS=-mod=mod

case_src() {
	case $1 in
	bare) cat <<'G'
package main

import "net/http"

func main() {
	_ = http.ListenAndServe("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
}
G
	;;
	tenant) cat <<'G'
package main

import (
	"net/http"

	"github.com/tenantkit/tenantkit/tenant"
)

func main() {
	_ = http.ListenAndServe("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := tenant.Require(r.Context())
		_, _ = w.Write([]byte(t.ID() + err.Error()))
	}))
}
G
	;;
	httpmw) cat <<'G'
package main

import (
	"log"
	"net/http"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/httpmw"
)

func main() {
	iss, err := authn.Cognito("eu-west-1", "eu-west-1_AbCdEf123", authn.TokenUseAccess, "client")
	if err != nil {
		log.Fatal(err)
	}
	v, err := authn.NewVerifier([]authn.Issuer{iss})
	if err != nil {
		log.Fatal(err)
	}
	_ = http.ListenAndServe("127.0.0.1:0", httpmw.Authenticate(v)(http.NotFoundHandler()))
}
G
	;;
	grpcmw) cat <<'G'
package main

import (
	"log"
	"net"

	"google.golang.org/grpc"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/grpcmw"
)

func main() {
	iss, err := authn.Cognito("eu-west-1", "eu-west-1_AbCdEf123", authn.TokenUseAccess, "client")
	if err != nil {
		log.Fatal(err)
	}
	v, err := authn.NewVerifier([]authn.Issuer{iss})
	if err != nil {
		log.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	_ = grpc.NewServer(grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(v))).Serve(ln)
}
G
	;;
	grpc-bare) cat <<'G'
package main

import (
	"net"

	"google.golang.org/grpc"
)

func main() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	_ = grpc.NewServer().Serve(ln)
}
G
	;;
	esac
}

printf '| consumer | non-stdlib packages linked | modules in go list -m all | binary (stripped) |\n|---|---|---|---|\n'
for c in bare tenant httpmw grpc-bare grpcmw; do
	d=$work/$c
	mkdir -p "$d"
	case_src "$c" > "$d/main.go"
	(
		cd "$d"
		printf 'module example.com/consumer\n\ngo 1.26.0\n\nrequire github.com/tenantkit/tenantkit v0.0.0\n\nreplace github.com/tenantkit/tenantkit => %s\n' "$repo" > go.mod
		if [ "$c" = grpc-bare ]; then go get google.golang.org/grpc@"$(cd "$repo" && go list -m -f '{{.Version}}' google.golang.org/grpc)" >/dev/null 2>&1; fi
		go mod tidy >/dev/null 2>&1
		pkgs=$(go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' . | grep -c . || true)
		pkgs=$((pkgs - 1)) # the consumer itself
		mods=$(go list -m all | wc -l)
		go build -trimpath -ldflags='-s -w' -o bin .
		size=$(stat -c %s bin)
		printf '| %s | %d | %d | %.1f MB |\n' "$c" "$pkgs" "$mods" "$(echo "$size/1000000" | bc -l)"
	)
done
