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
# versitygw (posix): a second S3 implementation, so tests show the proxy is
# not MinIO-specific.
VERSITYGW_VERSION=v1.8.0
# AWS KMS API server for the aws provider's tests.
LOCAL_KMS_VERSION=v0.0.0-20260228092603-2a5e92d09ab6
# MinIO KES for the kes provider's tests (AGPL: run as a process, never imported).
KES_VERSION=v0.23.0
# Alibaba's ossutil CLI, for the OSS dialect tests.
OSSUTIL_VERSION=v1.7.19
# Pebble (ACME test CA) and its DNS/challenge test server.
PEBBLE_VERSION=v2.10.3

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

# module_tool NAME MODULE VERSION PKG: build PKG inside the downloaded module,
# for modules whose `go install MOD@VER` the proxy refuses (it does not list
# their versions, although the exact version downloads).
module_tool() {
	local name=$1 mod=$2 version=$3 pkg=$4 stamp="$BIN/.$1.version"
	if [[ -x $BIN/$name && -f $stamp && $(cat "$stamp") == "$mod@$version" ]]; then
		return
	fi
	log "building $name ($mod@$version)"
	local dir src
	dir=$(cd / && GOFLAGS=-mod=mod go mod download -json "$mod@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	src=$(mktemp -d)
	cp -r "$dir/." "$src"
	chmod -R u+w "$src"
	(cd "$src" && GOFLAGS=-mod=mod go build -o "$BIN/$name" "$pkg")
	rm -rf "$src"
	echo "$mod@$version" >"$stamp"
}

go_tool minio github.com/minio/minio "$MINIO_VERSION"
go_tool versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION"
go_tool local-kms github.com/nsmithuk/local-kms "$LOCAL_KMS_VERSION"
module_tool kes github.com/minio/kes "$KES_VERSION" ./cmd/kes
module_tool ossutil github.com/aliyun/ossutil "$OSSUTIL_VERSION" .
go_tool pebble github.com/letsencrypt/pebble/v2/cmd/pebble "$PEBBLE_VERSION"
go_tool pebble-challtestsrv github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv "$PEBBLE_VERSION"
log "ready: $BIN"
