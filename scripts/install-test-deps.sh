#!/usr/bin/env bash
# Installs the real components the end-to-end tests run against, pinned, and
# caches built binaries in $SSEPROXY_TOOLS (default ~/.cache/sseproxy-tools)
# so a rerun takes seconds. Needs: Go, and root for apt-get (Debian).
set -euo pipefail

TOOLS=${SSEPROXY_TOOLS:-$HOME/.cache/sseproxy-tools}
BIN=$TOOLS/bin
mkdir -p "$BIN"

# MinIO has no semver tags; this pseudo-version is the one we test against.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

log() { printf 'install-test-deps: %s\n' "$*" >&2; }

# go_tool NAME MODULE/PATH VERSION: go install into $BIN unless the cached
# binary was built from the same version.
go_tool() {
	local name=$1 pkg=$2 version=$3 stamp="$BIN/.$1.version"
	if [[ -x $BIN/$name && -f $stamp && $(cat "$stamp") == "$pkg@$version" ]]; then
		return
	fi
	log "building $name ($pkg@$version); the first build takes several minutes"
	(cd / && GOBIN=$BIN GOFLAGS=-mod=mod go install "$pkg@$version")
	echo "$pkg@$version" >"$stamp"
}

apt_pkgs=()
[[ -x /usr/bin/aws ]] || apt_pkgs+=(awscli)
command -v rclone >/dev/null || apt_pkgs+=(rclone)
if ((${#apt_pkgs[@]})); then
	log "apt-get install ${apt_pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi

go_tool minio github.com/minio/minio "$MINIO_VERSION"
log "ready: $BIN"
