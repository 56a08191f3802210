#!/usr/bin/env bash
# with-minio.sh CMD...: runs CMD with a throwaway MinIO server on a free
# loopback port, its endpoint and credentials exported the AWS way, and
# stops it on every exit path. MinIO is built once from the Go module proxy
# (about two minutes) and cached.
set -euo pipefail

MINIO_VERSION=${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/freshrepos/minio-$MINIO_VERSION
export MINIO_BIN=${MINIO_BIN:-$cache/minio}

if [ ! -x "$MINIO_BIN" ]; then
	echo "with-minio: building MinIO $MINIO_VERSION (once, about two minutes)..." >&2
	mkdir -p "$(dirname "$MINIO_BIN")"
	tmpbin=$(mktemp -d)
	(cd "$tmpbin" && GOFLAGS= GOBIN="$tmpbin" go install "github.com/minio/minio@$MINIO_VERSION")
	mv "$tmpbin/minio" "$MINIO_BIN"
	rm -rf "$tmpbin"
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 30000))
		if port_free "$p"; then echo "$p"; return 0; fi
	done
	echo "with-minio: no free port" >&2
	return 1
}

port=$(pick_port)
console=$(pick_port)
data=$(mktemp -d)
log=$data.log
export AWS_ACCESS_KEY_ID=freshrepos-test
export AWS_SECRET_ACCESS_KEY=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$port

MINIO_ROOT_USER=$AWS_ACCESS_KEY_ID MINIO_ROOT_PASSWORD=$AWS_SECRET_ACCESS_KEY MINIO_BROWSER=off \
	"$MINIO_BIN" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" "$data" >"$log" 2>&1 &
minio_pid=$!
cleanup() {
	kill "$minio_pid" 2>/dev/null || true
	wait "$minio_pid" 2>/dev/null || true
	rm -rf "$data" "$log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ready=
for _ in $(seq 1 200); do
	if ! kill -0 "$minio_pid" 2>/dev/null; then break; fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$port" &&
		printf 'GET /minio/health/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 &&
		head -1 <&3) 2>/dev/null | grep -q ' 200 '; then
		ready=1
		break
	fi
	sleep 0.1
done
if [ -z "$ready" ]; then
	echo "with-minio: MinIO did not become ready:" >&2
	cat "$log" >&2
	exit 1
fi
echo "with-minio: MinIO ready at $AWS_ENDPOINT_URL" >&2
"$@"
