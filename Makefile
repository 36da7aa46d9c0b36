# make test runs every check CI runs. It needs Go; it installs and starts a
# throwaway redis-server itself (scripts/with-redis.sh).
#
# The repository holds several modules (see go.work): the library at the
# root, and beside it modules whose dependencies must never enter a library
# user's module graph: examples, the ecosystem tests (chi,
# go-grpc-middleware, otelhttp, otelgrpc, the OpenTelemetry SDKs),
# benchmarks, and each integration with heavy dependencies of its own.
# Adding a module is adding its directory to go.work and to MODULES.

GO          ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Fuzz budgets are execution counts, not durations: a duration races the
# fuzzing coordinator's own deadline on a busy machine (golang/go#75804, fixed
# in Go 1.27) and fails with "context deadline exceeded" and no crasher.
# 50,000 executions take one to four seconds per target on a quiet machine
# and up to 17 on a loaded one (22 targets took 307 s at 100,000, half of a
# 12m45s CI run); the targets in FUZZ_SHORT, whose every execution encodes a
# whole metric export or walks a deep evaluation context, get FUZZTIME_SHORT
# instead. FUZZTIME=1000000x runs them longer.
FUZZTIME    ?= 50000x
FUZZTIME_SHORT ?= 10000x
FUZZ_SHORT  := emf:FuzzEncode featureflag:FuzzGuard
BENCHTIME   ?= 1s

# Each fuzz target as package:FuzzName; every parser of untrusted input has one.
FUZZ_TARGETS := $(shell grep -rl --include='*_test.go' '^func Fuzz' . 2>/dev/null | grep -v '^./benchmarks/' | \
	xargs -r grep -H -o '^func Fuzz[A-Za-z0-9_]*' | sed 's|^\./||; s|/[^/]*_test.go:func |:|')

# Every module of the repository, the library first.
MODULES := . ecosystem examples benchmarks dynamostore kmsenvelope lambdaedge featureflag pgtenant emf
# The modules whose tests make unit runs besides the library's own.
TEST_MODULES := ecosystem examples dynamostore kmsenvelope lambdaedge featureflag pgtenant emf
# The test modules run with a throwaway DynamoDB-compatible server
# (scripts/with-dynalite.sh: dynalite from npm, in .cache/dynalite), unless
# one is given in TENANTKIT_DYNAMODB_ENDPOINT.
WITH_DYNALITE := $(if $(TENANTKIT_DYNAMODB_ENDPOINT),,scripts/with-dynalite.sh)
# and with a throwaway KMS-compatible server (scripts/with-local-kms.sh:
# local-kms built from the Go module proxy into .cache/bin), unless one is
# given in TENANTKIT_KMS_ENDPOINT.
WITH_LOCALKMS := $(if $(TENANTKIT_KMS_ENDPOINT),,scripts/with-local-kms.sh)
# ... and with the AWS Lambda Runtime Interface Emulator built
# (scripts/with-lambda-rie.sh: from the Go module proxy, into .cache/bin),
# unless one is given in TENANTKIT_LAMBDA_RIE.
WITH_LAMBDA_RIE := $(if $(TENANTKIT_LAMBDA_RIE),,scripts/with-lambda-rie.sh)
# ... and with a throwaway PostgreSQL cluster and PgBouncer in transaction mode
# (scripts/with-postgres.sh: Debian's postgresql and pgbouncer), unless one
# is given in TENANTKIT_POSTGRES_APP_URL and the other variables the script
# documents.
WITH_POSTGRES := $(if $(TENANTKIT_POSTGRES_APP_URL),,scripts/with-postgres.sh)

.PHONY: test check modules unit faults fuzz bench-module bench load

test: check
	scripts/with-redis.sh $(MAKE) --no-print-directory unit fuzz bench-module

# Every package of every module, as one pattern: go.work joins the modules,
# so one vet and one staticcheck run check them all, and load and analyse
# each shared dependency once instead of once per module.
ALL_PKGS := github.com/tenantkit/tenantkit/...

check:
	@out=$$(gofmt -l . ); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@n=$$($(GO) list -m | wc -l); if [ "$$n" -ne $(words $(MODULES)) ]; then \
		echo "go.work has $$n modules, MODULES lists $(words $(MODULES)): add the new module to both"; exit 1; fi
	@echo "vet and staticcheck: every module ($(MODULES))"
	$(GO) vet $(ALL_PKGS)
	$(STATICCHECK) $(ALL_PKGS)

# make modules vets and tests every module (without the heavy end-to-end
# run, the fault suite and the fuzzers, which make unit and make fuzz add).
modules:
	@$(WITH_DYNALITE) $(WITH_LOCALKMS) $(WITH_LAMBDA_RIE) $(WITH_POSTGRES) sh -c 'set -e; for m in $(MODULES); do \
		echo "vet and test: module $$m"; \
		(cd $$m && $(GO) vet ./... && $(GO) test -race -count=1 -skip "^TestFault" ./...); \
	done'

# The end-to-end leak test holds 2,000 requests in flight across three hops
# under the race detector, and 20,000 in a plain build asked for with
# TENANTKIT_E2E_HEAVY=1 (about 2 and 3 GiB at peak; plain go test ./... runs
# the light one); each runs on its own so that no other test binary competes
# with it for memory.
#
# The fault tests (TestFault*: a Redis Cluster losing a master, a Sentinel
# failover, a stalled and a full server) measure decision latencies against
# a deadline, so they too run alone, after the rest; make faults runs only
# them (about a minute).
unit:
	$(GO) test -race -count=1 -skip '^TestFault' $$($(GO) list ./... | grep -v /internal/e2etest)
	$(GO) test -race -count=1 -timeout 10m ./internal/e2etest
	TENANTKIT_E2E_HEAVY=1 $(GO) test -count=1 -timeout 10m ./internal/e2etest
	@$(WITH_DYNALITE) $(WITH_LOCALKMS) $(WITH_LAMBDA_RIE) $(WITH_POSTGRES) \
		$(GO) test -race -count=1 $(foreach m,$(TEST_MODULES),github.com/tenantkit/tenantkit/$(m)/...)
	$(MAKE) --no-print-directory faults

FAULT_PKGS := ./ratelimit/redislimit

faults:
	@if [ -z "$$TENANTKIT_REDIS_ADDR" ]; then \
		scripts/with-redis.sh $(GO) test -race -count=1 -timeout 5m -run '^TestFault' -v $(FAULT_PKGS); \
	else \
		$(GO) test -race -count=1 -timeout 5m -run '^TestFault' -v $(FAULT_PKGS); \
	fi

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; budget=$(FUZZTIME); \
		case " $(FUZZ_SHORT) " in *" $$t "*) budget=$(FUZZTIME_SHORT);; esac; \
		echo "fuzz $$pkg $$name ($$budget)"; \
		$(GO) test ./$$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $$budget; \
	done

# The benchmarks module's tests check that every comparison still builds and
# agrees on results; the benchmarks themselves run with make bench. They
# include one short round of the load harness (benchmarks/load TestSmoke:
# one second per stack), which needs wrk (scripts/with-wrk.sh).
bench-module:
	scripts/with-wrk.sh sh -c 'cd benchmarks && $(GO) test -count=1 ./...'

# make load measures every middleware stack under load (benchmarks/load):
# the server pinned to CPU 0 with GOMAXPROCS=1, wrk and the gRPC generator
# on CPU 1, LOADROUNDS interleaved rounds of LOADDURATION per stack, then a
# CPU profile of LOADPROFILE seconds of every stack, and writes the
# medians, ratios and the profiles' shares to benchmarks/load/results.md
# (about five minutes).
LOADROUNDS   ?= 5
LOADDURATION ?= 2s
LOADPROFILE  ?= 3

load:
	scripts/with-redis.sh scripts/with-wrk.sh sh -c 'cd benchmarks && \
		$(GO) run ./load/cmd/loadrun -rounds $(LOADROUNDS) -duration $(LOADDURATION) -warmup 0 \
			-profile-seconds $(LOADPROFILE) -profile-floors -out load/results.md'

# make bench runs every benchmark BENCHCOUNT times in one run, writes the
# raw output to benchmarks/results.txt and benchstat's medians to
# benchmarks/benchstat.txt; the ratios in BENCHMARKS.md are ratios of those
# medians (with 6 passes benchstat also gives a 95% interval). -p 1 runs one
# test binary at a time: two packages benchmarking at once on a small
# machine slow each other down.
BENCH_PKGS := ./tenant ./authn ./httpmw ./grpcmw ./telemetry/... ./isolation/... ./ratelimit/...
# Benchmarks that need the metric SDK live in the ecosystem module.
ECO_BENCH_PKGS := ./telemetry ./httpmw
BENCHCOUNT ?= 6
BENCHSTAT  ?= $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

bench:
	scripts/with-redis.sh sh -c '\
		$(GO) test -p 1 -run "^$$" -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) $(BENCH_PKGS) && \
		(cd ecosystem && $(GO) test -p 1 -run "^$$" -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) $(ECO_BENCH_PKGS)) && \
		(cd emf && $(GO) test -p 1 -run "^$$" -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./...) && \
		(cd featureflag && $(GO) test -p 1 -run "^$$" -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./...) && \
		cd benchmarks && $(GO) test -p 1 -run "^$$" -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) -cpu 1,2 ./...' \
		| tee benchmarks/results.txt
	$(BENCHSTAT) benchmarks/results.txt > benchmarks/benchstat.txt
