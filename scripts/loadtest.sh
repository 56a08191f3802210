#!/usr/bin/env bash
# loadtest.sh (make loadtest): one edge against nginx sending the same bytes.
#
# Builds freshrepos, publishes a snapshot of N repositories from the fake
# GitHub into a temporary directory store, and starts one edge
# (GOMAXPROCS=1) and one nginx (Debian's package, one worker, gzip_static on,
# serving the edge's own unfiltered gzip /repos and /stats bytes), both
# pinned to SERVER_CPU. wrk, pinned to CLIENT_CPU, drives each in turn, runs
# alternating, and the medians of RUNS runs are printed with the ratio to
# nginx for:
#   1. /repos unfiltered, gzip
#   2. /repos with a filter, repeated (a cache hit)
#   3. /repos with a different query on every request, 50 to 100
#      repositories each (no cache can help)
#   4. /stats?language=…, a different query on every request
#   5. conditional requests answered 304
#   6. as 3, but asking for zstd only (the edge stitches gzip only: each
#      answer is compressed; nginx still sends its gzip file)
#   7. as 3, with a browser's Accept-Encoding (gzip, deflate, br, zstd):
#      new queries go in stitched gzip, which the browser likes as much
# Scenario 5 also drives a third server, its floor (scripts/floor304):
# plain fasthttp, GOMAXPROCS=1 on the same CPU, sending the edge's own 304
# from a prebuilt header and doing nothing else; its ratios say how much of
# the gap to nginx is fasthttp's and Go's, and how much the edge's.
# Then, unless SCALE=0, the scale benchmark (100, 10,000 and 100,000
# repositories), and unless PUBLISHER=0, the publisher's benchmarks.
#
# Everything listens on loopback only; every run is bounded in time. Missing
# nginx, wrk or curl are installed with apt-get when run as root.
#
# Knobs (environment): N=100 DURATION=5 (seconds per run) RUNS=3 CONNS=50
# SERVER_CPU=0 CLIENT_CPU=1 SCENARIOS="1 2 3 4 5 6 7" SCALE=1 PUBLISHER=1
# OUT=file (also write the table there).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

N=${N:-100}
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
CONNS=${CONNS:-50}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SCENARIOS=${SCENARIOS:-1 2 3 4 5 6 7}
SCALE=${SCALE:-1}
PUBLISHER=${PUBLISHER:-1}
OUT=${OUT:-}

log() { echo "loadtest: $*" >&2; }
die() {
	log "$*"
	exit 1
}

# --- tools -------------------------------------------------------------------

PATH=$PATH:/usr/sbin:/sbin
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
command -v gzip >/dev/null || missing+=(gzip)
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root"
	log "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The servers run under taskset (which execs them, so that $! is theirs).
pin_server=()
if command -v taskset >/dev/null && [ "$(nproc)" -gt "$SERVER_CPU" ]; then
	pin_server=(taskset -c "$SERVER_CPU")
fi
pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -gt "$CLIENT_CPU" ]; then
	pin_client=(taskset -c "$CLIENT_CPU")
fi
if [ "$(nproc)" -lt 2 ]; then
	log "warning: $(nproc) CPU: wrk competes with the server it measures"
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 30000))
		if port_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	die "no free port"
}

wait_http() { # wait_http URL: until it answers 200, at most 30 s
	for _ in $(seq 1 300); do
		if [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" = 200 ]; then return 0; fi
		sleep 0.1
	done
	die "$1 did not come up"
}

tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build and publish -------------------------------------------------------

log "building"
go build -o "$tmp/freshrepos" ./cmd/freshrepos
bin=$tmp/freshrepos
go build -o "$tmp/floor304" ./scripts/floor304

fport=$(pick_port)
"$bin" fakegithub --addr "127.0.0.1:$fport" -seed 1 -rate 5 \
	-auth-core-limit 1000000 -auth-search-limit 100000 >/dev/null 2>"$tmp/fake.log" &
fake_pid=$!
pids+=("$fake_pid")
wait_http "http://127.0.0.1:$fport/rate_limit"
log "publishing $N repositories from the fake GitHub"
GITHUB_TOKEN=loadtest LOG_LEVEL=warn timeout 300 "$bin" publish --once --store "file:$tmp/store" \
	--github-api-url "http://127.0.0.1:$fport/" --repo-count "$N" --search-window 10m ||
	die "publish failed"
kill "$fake_pid"

# --- edge and nginx ----------------------------------------------------------

eport=$(pick_port)
edge=http://127.0.0.1:$eport
PORT=127.0.0.1:$eport METRICS_ADDR= LOG_LEVEL=warn GOMAXPROCS=1 \
	"${pin_server[@]}" "$bin" edge --store "file:$tmp/store" >/dev/null 2>"$tmp/edge.log" &
edge_pid=$!
pids+=("$edge_pid")
wait_http "$edge/readyz"

mkdir -p "$tmp/www" "$tmp/nginx-temp"
for f in repos stats; do
	curl -sf "$edge/$f" -o "$tmp/www/$f"
	curl -sf -H 'Accept-Encoding: gzip' "$edge/$f" -o "$tmp/www/$f.gz"
	gzip -dc <"$tmp/www/$f.gz" | cmp -s - "$tmp/www/$f" || die "the edge's gzip /$f does not decode to its identity /$f"
done
version=$(curl -sf "$edge/readyz" | sed 's/.*"version":"\([^"]*\)".*/\1/')

nport=$(pick_port)
nginx_url=http://127.0.0.1:$nport
mask=1$(printf '%*s' "$SERVER_CPU" '' | tr ' ' 0)
user=""
[ "$(id -u)" = 0 ] && user="user root root;"
cat >"$tmp/nginx.conf" <<EOF
$user
daemon off;
worker_processes 1;
worker_cpu_affinity $mask;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server_tokens off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 100000000;
    open_file_cache max=64 inactive=60s;
    open_file_cache_valid 600s;
    client_body_temp_path $tmp/nginx-temp/body;
    proxy_temp_path $tmp/nginx-temp/proxy;
    fastcgi_temp_path $tmp/nginx-temp/fastcgi;
    uwsgi_temp_path $tmp/nginx-temp/uwsgi;
    scgi_temp_path $tmp/nginx-temp/scgi;
    default_type application/json;
    # As the edge, no X-Snapshot-Version on a 304 (an empty value sends
    # none); nginx keeps its Last-Modified there, which the edge leaves out.
    map \$status \$snapshot_version {
        304 "";
        default $version;
    }
    server {
        listen 127.0.0.1:$nport;
        root $tmp/www;
        gzip_static on;
        gzip_vary on;
        # The headers the edge sends besides ETag, Last-Modified and Vary.
        add_header Cache-Control "public, max-age=120, stale-while-revalidate=120, stale-if-error=86400";
        add_header Access-Control-Allow-Origin "*";
        add_header Access-Control-Expose-Headers "ETag, Last-Modified, X-Snapshot-Version, Retry-After, RateLimit, RateLimit-Policy";
        add_header X-Content-Type-Options nosniff;
        add_header X-Snapshot-Version \$snapshot_version;
    }
}
EOF
"${pin_server[@]}" nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" >/dev/null 2>&1 &
pids+=($!)
wait_http "$nginx_url/repos"
nginx_worker=$(pgrep -P "$(cat "$tmp/nginx.pid")" | head -1)
[ -n "$nginx_worker" ] || die "no nginx worker"
for f in repos stats; do
	curl -sf -H 'Accept-Encoding: gzip' "$nginx_url/$f" | cmp -s - "$tmp/www/$f.gz" || die "nginx does not send the edge's gzip /$f"
done

etag() { curl -sf -o /dev/null -D- -H 'Accept-Encoding: gzip' "$1" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p'; }
edge_etag=$(etag "$edge/repos")
nginx_etag=$(etag "$nginx_url/repos")

# Sanity: a varied query of each kind answers gzip that decodes to its
# identity answer, and the conditional requests are 304s.
for q in "/repos?limit=77&sort=stars&order=asc&max_stars=999999999" "/stats?language=go&max_stars=999999999"; do
	curl -sf -H 'Accept-Encoding: gzip' "$edge$q" | gzip -dc | cmp -s - <(curl -sf "$edge$q") ||
		die "$q: the gzip answer does not decode to the identity answer"
done
if command -v zstd >/dev/null; then
	q="/repos?limit=66&sort=name&max_stars=999999999"
	curl -sf -H 'Accept-Encoding: zstd' "$edge$q" | zstd -dc | cmp -s - <(curl -sf "$edge$q") ||
		die "$q: the zstd answer does not decode to the identity answer"
fi
q="/repos?limit=88&sort=stars&max_stars=999999998"
[ "$(curl -sf -o /dev/null -D- -H 'Accept-Encoding: gzip, deflate, br, zstd' "$edge$q" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ee]ncoding: //p')" = gzip ] ||
	die "$q: a new query with a browser's Accept-Encoding is not answered in (stitched) gzip"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept-Encoding: gzip' -H "If-None-Match: $edge_etag" "$edge/repos")" = 304 ] ||
	die "the edge does not answer 304 to its own ETag"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept-Encoding: gzip' -H "If-None-Match: $nginx_etag" "$nginx_url/repos")" = 304 ] ||
	die "nginx does not answer 304 to its own ETag"

# Scenario 5's floor sends the edge's 304 as it is.
if [[ " $SCENARIOS " == *" 5 "* ]]; then
	curl -s -o /dev/null -D "$tmp/edge-304.txt" -H 'Accept-Encoding: gzip' -H "If-None-Match: $edge_etag" "$edge/repos"
	floor_port=$(pick_port)
	floor_url=http://127.0.0.1:$floor_port
	GOMAXPROCS=1 "${pin_server[@]}" "$tmp/floor304" -addr "127.0.0.1:$floor_port" -headers "$tmp/edge-304.txt" 2>"$tmp/floor.log" &
	floor_pid=$!
	pids+=("$floor_pid")
	floor_up=""
	for _ in $(seq 1 300); do
		if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $edge_etag" "$floor_url/repos" 2>/dev/null)" = 304 ]; then
			floor_up=1
			break
		fi
		kill -0 "$floor_pid" 2>/dev/null || die "floor304 did not start: $(cat "$tmp/floor.log")"
		sleep 0.1
	done
	[ -n "$floor_up" ] || die "floor304 does not answer 304 to the edge's ETag"
	# What fasthttp makes of the parsed header; the edge's own max-age
	# counts down from here, a byte or two either way.
	diff <(tr -d '\r' <"$tmp/edge-304.txt" | grep -iv '^date:') \
		<(curl -s -o /dev/null -D- -H "If-None-Match: $edge_etag" "$floor_url/repos" | tr -d '\r' | grep -iv '^date:') >&2 ||
		die "floor304 does not send the edge's 304"
fi

# --- scenarios ---------------------------------------------------------------

lua=$root/scripts/loadtest
declare -A title edge_path lua_script nginx_path inm_edge inm_nginx ae_edge
title[1]="/repos unfiltered, gzip"
edge_path[1]=/repos
lua_script[1]=fixed
title[2]="/repos filtered, repeated (cache hit)"
edge_path[2]="/repos?language=python&sort=stars&limit=50"
lua_script[2]=fixed
title[3]="/repos, a new query every request (50-100 repos)"
edge_path[3]=/repos
lua_script[3]=varied-repos
title[4]="/stats?language=…, a new query every request"
edge_path[4]=/stats
lua_script[4]=varied-stats
title[5]="conditional /repos, 304"
edge_path[5]=/repos
lua_script[5]=fixed
inm_edge[5]=$edge_etag
inm_nginx[5]=$nginx_etag
title[6]="/repos, a new query every request, zstd"
edge_path[6]=/repos
lua_script[6]=varied-repos
ae_edge[6]=zstd
title[7]="/repos, a new query every request, a browser's Accept-Encoding"
edge_path[7]=/repos
lua_script[7]=varied-repos
ae_edge[7]="gzip, deflate, br, zstd"
for s in 1 2 3 5 6 7; do nginx_path[$s]=/repos; done
nginx_path[4]=/stats

mkdir -p "$tmp/results"
cpu_ticks() { # the server CPU's busy and steal ticks, and all of them
	awk -v cpu="cpu$SERVER_CPU" '$1 == cpu { t = 0; for (i = 2; i <= NF; i++) t += $i; print $2 + $3 + $4 + $7 + $8, $9, t }' /proc/stat
}
clk_tck=$(getconf CLK_TCK)
proc_ticks() { # proc_ticks PID: the user and system CPU time of a process, in ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
run() { # run SCENARIO SERVER RUN
	local s=$1 server=$2 r=$3 url inm out before after ae=gzip pid pbefore pafter
	if [ "$server" = edge ]; then
		url=$edge${edge_path[$s]} inm=${inm_edge[$s]:-} ae=${ae_edge[$s]:-gzip} pid=$edge_pid
	elif [ "$server" = floor ]; then
		url=$floor_url${edge_path[$s]} inm=${inm_edge[$s]:-} pid=$floor_pid
	else
		url=$nginx_url${nginx_path[$s]} inm=${inm_nginx[$s]:-} pid=$nginx_worker
	fi
	# Both servers get the same requests: nginx ignores the query string.
	cat "$lua/${lua_script[$s]}.lua" "$lua/report.lua" >"$tmp/run.lua"
	before=$(cpu_ticks)
	pbefore=$(proc_ticks "$pid")
	out=$(LOADTEST_AE=$ae LOADTEST_INM=$inm LOADTEST_SEED=$((r * 1000000 + s * 100000000)) \
		timeout $((DURATION + 30)) "${pin_client[@]}" \
		wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$tmp/run.lua" "$url" 2>&1) || true
	pafter=$(proc_ticks "$pid")
	after=$(cpu_ticks)
	local line cpu
	line=$(grep '^RESULT' <<<"$out") || die "wrk gave no result for scenario $s on $server: $out"
	# busy: the share of the server's CPU in use; steal: taken by the host;
	# cpu_us: the server process's own CPU time per request, in µs.
	cpu=$(awk -v a="$before" -v b="$after" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[3] - x[3]; printf "busy=%.3f steal=%.3f", (y[1] - x[1]) / t, (y[2] - x[2]) / t }')
	cpu+=$(awk -v t=$((pafter - pbefore)) -v hz="$clk_tck" -v n="$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")" 'BEGIN { printf " cpu_us=%.2f", t / hz * 1e6 / n }')
	log "run $r scenario $s $server: ${line#RESULT } $cpu"
	echo "${line#RESULT } $cpu" >>"$tmp/results/$s.$server"
}

servers() { # servers SCENARIO ROUND: who runs, in order; nginx next to each other one
	local s=$1 r=$2 floor=""
	[ "$s" = 5 ] && [ -n "${floor_pid:-}" ] && floor=floor
	if [ $((r % 2)) = 1 ]; then
		echo edge nginx $floor
	else
		echo $floor nginx edge
	fi
}

# A short warm-up of each, then RUNS rounds, the order flipping each round.
for s in $SCENARIOS; do
	for server in $(servers "$s" 1); do
		DURATION=1 run "$s" "$server" 0 >/dev/null 2>&1 || true
	done
	rm -f "$tmp/results/$s".*
done
for r in $(seq 1 "$RUNS"); do
	for s in $SCENARIOS; do
		for server in $(servers "$s" "$r"); do
			run "$s" "$server" "$r"
		done
	done
done

field() { # field FILE NAME: the values of NAME, one a line
	sed -n "s/.*\\b$2=\\([0-9.]*\\).*/\\1/p" "$1"
}
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# The ratios are taken run by run, edge (or the floor) against the nginx
# run next to it in time, which cancels most of the drift of a shared
# machine, and the median of those is given with their range. Edge against
# floor pairs the runs of a round, nginx's between them.
ratios() { # ratios SCENARIO [A B]: A/B (edge/nginx) req/s of each run, one a line
	paste <(field "$tmp/results/$1.${2:-edge}" rps) <(field "$tmp/results/$1.${3:-nginx}" rps) | awk '{ print $1 / $2 }'
}
core_ratios() { # core_ratios SCENARIO: the same per busy core
	paste <(field "$tmp/results/$1.edge" rps) <(field "$tmp/results/$1.edge" busy) \
		<(field "$tmp/results/$1.nginx" rps) <(field "$tmp/results/$1.nginx" busy) | awk '{ print ($1 / $2) / ($3 / $4) }'
}
cpu_ratios() { # cpu_ratios SCENARIO: nginx/edge CPU time per request, run by run
	paste <(field "$tmp/results/$1.nginx" cpu_us) <(field "$tmp/results/$1.edge" cpu_us) | awk '{ print $1 / $2 }'
}
per_response() { # per_response FILE: mean bytes per response over the runs
	paste <(field "$1" bytes) <(field "$1" requests) | awk '{ s += $1 / $2 } END { printf "%d", s / NR }'
}
failures() { # failures FILE: failed and non-2xx/3xx answers over the runs
	paste <(field "$1" errors) <(field "$1" bad) | awk '{ s += $1 + $2 } END { print s + 0 }'
}
span() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }

table=$tmp/table.md
{
	echo "N=$N repositories; $RUNS runs of ${DURATION}s per server and scenario, alternating; wrk -t1 -c$CONNS on CPU $CLIENT_CPU; edge (GOMAXPROCS=1) and nginx (1 worker) on CPU $SERVER_CPU; medians."
	echo
	echo "| scenario | edge req/s | p50 | p99 | B/resp | CPU | µs/req | nginx req/s | p50 | p99 | B/resp | CPU | µs/req | edge/nginx (range) | per busy core | per CPU µs (range) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in $SCENARIOS; do
		row="| $s. ${title[$s]} "
		for server in edge nginx; do
			f=$tmp/results/$s.$server
			rps=$(field "$f" rps | median)
			busy=$(field "$f" busy | median)
			p50=$(field "$f" p50_us | median)
			p99=$(field "$f" p99_us | median)
			bpr=$(per_response "$f")
			bad=$(failures "$f")
			steal=$(field "$f" steal | sort -g | tail -1)
			[ "$bad" = 0 ] || log "warning: scenario $s on $server: $bad failed or non-2xx/3xx answers"
			awk -v x="$steal" 'BEGIN { exit !(x > 0.02) }' && log "warning: scenario $s on $server: up to $steal of the CPU stolen by the host"
			row+="| $(printf '%.0f' "$rps") | $(awk -v v="$p50" 'BEGIN { printf "%.2f ms", v / 1000 }') | $(awk -v v="$p99" 'BEGIN { printf "%.2f ms", v / 1000 }') | $bpr | $(awk -v v="$busy" 'BEGIN { printf "%.0f%%", v * 100 }') | $(field "$f" cpu_us | median) "
		done
		row+="| $(ratios "$s" | median | xargs printf '%.2f') ($(ratios "$s" | span)) "
		row+="| $(core_ratios "$s" | median | xargs printf '%.2f') "
		row+="| $(cpu_ratios "$s" | median | xargs printf '%.2f') ($(cpu_ratios "$s" | span)) |"
		echo "$row"
	done
	echo
	if [ -f "$tmp/results/5.floor" ]; then
		f=$tmp/results/5.floor
		bad=$(failures "$f")
		[ "$bad" = 0 ] || log "warning: scenario 5 on floor: $bad failed or non-2xx/3xx answers"
		bpr=$(per_response "$f")
		echo "Scenario 5's floor (scripts/floor304: plain fasthttp sending the edge's 304 from a prebuilt header, nothing else; GOMAXPROCS=1 on CPU $SERVER_CPU): $(field "$f" rps | median | xargs printf '%.0f') req/s, $(field "$f" cpu_us | median) µs/req, $bpr B/resp; floor/nginx $(ratios 5 floor nginx | median | xargs printf '%.2f') ($(ratios 5 floor nginx | span)); edge/floor $(ratios 5 edge floor | median | xargs printf '%.2f') ($(ratios 5 edge floor | span)), run by run."
		echo
	fi
	echo "Req/s, latencies and CPU are medians over the runs; edge/nginx is the median of the ratios of runs made one after the other (and their range). CPU: the share of the server's CPU busy during the runs (user, system, interrupts). Per busy core: the ratio of requests per second per fully busy CPU, which is what counts when wrk, not the server, is the limit. µs/req: the server process's own CPU time (user and system, from /proc) per request; per CPU µs: nginx's over the edge's, run by run (above 1, the edge spends less CPU per request). B/resp: bytes per response, headers included, as wrk counts them. Both servers get the same requests; nginx ignores the query string and sends the unfiltered gzip /repos ($(stat -c %s "$tmp/www/repos.gz") bytes of body; $(stat -c %s "$tmp/www/repos") identity), or in scenario 4 the unfiltered gzip /stats ($(stat -c %s "$tmp/www/stats.gz") bytes)."
} >"$table"
cat "$table"
[ -z "$OUT" ] || cp "$table" "$OUT"

if grep -qi 'panic\|"level":"ERROR"' "$tmp/edge.log"; then
	log "the edge logged errors:"
	cat "$tmp/edge.log" >&2
fi

# --- scale and publisher -----------------------------------------------------

if [ "$SCALE" != 0 ]; then
	echo
	echo "Scale (go test -bench Scale ./edge/, GOMAXPROCS=2):"
	go test -run '^$' -bench 'Scale' -count 1 -timeout 20m ./edge/ | grep -E '^Benchmark'
fi
if [ "$PUBLISHER" != 0 ]; then
	echo
	echo "Publisher (go test -bench 'FullRun|SteadyRun' ./publisher/):"
	go test -run '^$' -bench 'FullRun|SteadyRun' -benchtime 3x -count 1 -timeout 10m ./publisher/ | grep -E '^Benchmark'
fi
