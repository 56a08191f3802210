#!/usr/bin/env bash
# instructions.sh (make instructions): the instructions the edge's handler
# executes per request, for requests of BenchmarkCachedAnswers.
#
# Timings on a shared VM move by a third from one run to the next (see
# docs/PERFORMANCE.md), more than most changes to the handler are worth;
# instruction counts move by a percent or two. callgrind (valgrind) runs
# each benchmark with collection on only inside serveHTTP (see count).
# Instructions are not time (a cache miss or a system call costs more
# than its count says): this compares two versions of the handler, it
# does not predict requests per second. Installs valgrind when missing,
# as root.
#
# Knobs (environment): N=20000; BENCH, a -test.bench pattern (by default
# five of BenchmarkCachedAnswers's requests: not filtered-repos-cached,
# whose first answers are stitched until the background compression
# lands, after a number of requests that varies with valgrind's pace);
# OLD=rev, to count at that git revision too and print both.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-20000}
BENCH=${BENCH:-CachedAnswers/(unfiltered-repos-gzip|filtered-stats-cached|not-modified-304|not-modified-other-form-304|ping)\$}
OLD=${OLD:-}

log() { echo "instructions: $*" >&2; }

if ! command -v valgrind >/dev/null; then
	[ "$(id -u)" = 0 ] || {
		log "valgrind is missing: apt-get install valgrind, or run as root"
		exit 1
	}
	log "installing valgrind"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# count BINARY: "name instructions" per benchmark, one a line. Each is
# run for N and for 3N requests, and the difference divided by 2N: what
# the benchmark does once (its first answer is computed, not cached)
# cancels out.
count() {
	local bin=$1 names name
	names=$(cd edge && "$bin" -test.run '^$' -test.bench "$BENCH" -test.benchtime 1x -test.cpu 1 | sed -n 's/^Benchmark\([^ 	]*\).*/\1/p')
	for name in $names; do
		echo "$name $(collect "$bin" "$name" "$N") $(collect "$bin" "$name" $((3 * N)))"
	done | awk -v n="$N" 'NF != 3 { print "instructions: callgrind gave no count for " $1 > "/dev/stderr"; exit 1 }
		{ printf "%s %.0f\n", $1, ($3 - $2) / (2 * n) }'
}

# collect BINARY NAME N: the instructions executed inside serveHTTP by N
# iterations of benchmark NAME.
collect() {
	local out=$tmp/callgrind.out
	# Go's asynchronous preemption signals trip callgrind up; a garbage
	# collection would make its assists vary from one run to the next.
	(cd edge && GOGC=off GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --toggle-collect='*edge.(*Server).serveHTTP' \
		--callgrind-out-file="$out" "$1" -test.run '^$' -test.bench "^Benchmark$2\$" \
		-test.benchtime "$3x" -test.cpu 1 >/dev/null 2>&1)
	callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}

log "building"
go test -c -o "$tmp/new.test" ./edge/
count "$tmp/new.test" >"$tmp/counts.new"
if [ -z "$OLD" ]; then
	echo "instructions per request in serveHTTP:"
	awk '{ printf "%-44s %7d\n", $1, $2 }' "$tmp/counts.new"
	exit 0
fi
git worktree add -q --detach "$tmp/old" "$OLD"
trap 'git worktree remove --force "$tmp/old"; rm -rf "$tmp"' EXIT
(cd "$tmp/old" && go test -c -o "$tmp/old.test" ./edge/)
count "$tmp/old.test" >"$tmp/counts.old"
echo "instructions per request in serveHTTP: $OLD, the working tree, change"
awk 'NR == FNR { old[$1] = $2; next } $1 in old { printf "%-44s %7d %7d %+6.1f%%\n", $1, old[$1], $2, ($2 - old[$1]) * 100 / old[$1] }' \
	"$tmp/counts.old" "$tmp/counts.new"
