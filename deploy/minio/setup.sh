#!/bin/sh
# minio-setup (docker-compose.yml) runs this once MinIO is healthy, with mc,
# as MinIO's root user: it creates the bucket and one least-privilege user
# per role, and can run again at every `docker compose up`.
#
#   publisher  PUBLISHER_ACCESS_KEY  policy freshrepos-publisher  publisher-readwrite.json
#   edges      EDGE_ACCESS_KEY       policy freshrepos-edge       edge-readonly.json
#
# Nothing else ever uses the root credentials. The bucket stays private.
set -eu

bucket=freshrepos # the bucket STORE names, and the one the policies grant
export MC_CONFIG_DIR=/tmp/.mc

mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "local/$bucket"
mc anonymous set none "local/$bucket"

# ensure_user ACCESS_KEY SECRET_KEY POLICY FILE: the policy from FILE, the user
# with that secret, and the policy attached to it, whether or not they were.
ensure_user() {
	mc admin policy create local "$3" "$4"
	mc admin user add local "$1" "$2"
	if ! mc admin policy attach local "$3" --user "$1" >/dev/null 2>&1; then
		# attach fails when the policy is already attached
		if ! mc admin user info local "$1" | grep -qw "$3"; then
			echo "minio-setup: could not attach policy $3 to $1" >&2
			exit 1
		fi
	fi
	echo "minio-setup: user $1 has policy $3"
}

ensure_user "$PUBLISHER_ACCESS_KEY" "$PUBLISHER_SECRET_KEY" freshrepos-publisher /policies/publisher-readwrite.json
ensure_user "$EDGE_ACCESS_KEY" "$EDGE_SECRET_KEY" freshrepos-edge /policies/edge-readonly.json
