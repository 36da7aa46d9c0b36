#!/usr/bin/env bash
# Compares the benchmarks of two revisions in one run: test binaries of
# both are built first, then run alternately, COUNT passes each, so that
# the machine's drift falls on both alike. Raw output goes to OUT (one file
# per revision); benchstat compares them.
#
#   scripts/bench-compare.sh OLD_REV [NEW_REV]   (NEW_REV: the work tree)
#
# BENCH_SPEC lists package:regexp pairs (default below); a package that
# moved between the revisions is written OLD=NEW:regexp (NEW may lie in
# another module of the workspace, such as ecosystem/telemetry), and its
# output is labelled with the old package so that benchstat pairs the
# rows. COUNT (3) and
# BENCHTIME (1s) as in make bench; CPU (for example 1,2) sets -cpu. Needs a
# Redis for the Redis benchmarks: run it under scripts/with-redis.sh.
set -euo pipefail
old=$1
new=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
count=${COUNT:-3}
benchtime=${BENCHTIME:-1s}
cpuflag=()
[ -n "${CPU:-}" ] && cpuflag=(-test.cpu "$CPU")
out=${OUT:-$root/benchmarks/compare}
spec=${BENCH_SPEC:-"tenant:^BenchmarkVerify$ httpmw:^BenchmarkHop$ grpcmw:^BenchmarkHop$ ratelimit:^BenchmarkTake$ benchmarks:^Benchmark(Authenticate|VerifyFloor|Chain|BucketMemory|RedisTake)$"}

work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/old" >/dev/null 2>&1 || true; [ -n "$new" ] && git -C "$root" worktree remove --force "$work/new" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add --detach "$work/old" "$old" >/dev/null
newdir=$root
if [ -n "$new" ]; then
	git -C "$root" worktree add --detach "$work/new" "$new" >/dev/null
	newdir=$work/new
fi

build() { # dir pkg bin
	if [ "$2" = benchmarks ]; then
		(cd "$1/benchmarks" && go test -c -o "$3" .)
	else
		(cd "$1" && go test -c -o "$3" "./$2")
	fi
}
# pkgof side entry: the package of a spec entry on one side.
pkgof() {
	local p=${2%%:*}
	case $p in
	*=*) if [ "$1" = old ]; then echo "${p%%=*}"; else echo "${p#*=}"; fi ;;
	*) echo "$p" ;;
	esac
}
for side in old new; do
	dir=$work/old
	[ $side = new ] && dir=$newdir
	for s in $spec; do
		pkg=$(pkgof $side "$s")
		build "$dir" "$pkg" "$work/$side-${pkg//\//_}.test"
	done
done

mkdir -p "$out"
: >"$out/old.txt"
: >"$out/new.txt"
for _ in $(seq "$count"); do
	for side in old new; do
		for s in $spec; do
			pkg=$(pkgof $side "$s") label=$(pkgof old "$s") re=${s#*:}
			dir=$work/old
			[ $side = new ] && dir=$newdir
			# Each binary runs in its package directory, as go test does.
			pdir=$dir/$pkg
			(cd "$pdir" && "$work/$side-${pkg//\//_}.test" -test.run '^$' -test.bench "$re" \
				-test.benchmem -test.benchtime "$benchtime" -test.count 1 "${cpuflag[@]}") |
				sed "s#^pkg: .*#pkg: github.com/tenantkit/tenantkit/$label#" >>"$out/$side.txt"
		done
	done
done
echo "raw output in $out/old.txt and $out/new.txt" >&2
