#!/usr/bin/env bash
# Checks the Dockerfile where no Docker engine runs (CI):
#  1. runs the Dockerfile's `RUN go build` line exactly as written, with the
#     Dockerfile's ENV and a VERSION build argument, into a temporary directory;
#  2. checks the binary is what the image needs: static (CGO_ENABLED=0),
#     -trimpath, stripped, the version stamped, and the commands the image
#     uses (healthcheck, config check of the compose config in docs/deploy.md)
#     working;
#  3. lints the Dockerfile with hadolint when it is installed or installable
#     from apt (Debian bookworm has no hadolint package; then it says so).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'check-dockerfile: %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# 1. The build line and the ENV of the build stage, from the Dockerfile itself.
build=$(sed -n 's/^RUN \(go build .*\)$/\1/p' Dockerfile)
[[ $(grep -c '^RUN go build ' Dockerfile) == 1 && -n $build ]] || fail "want exactly one 'RUN go build' line in Dockerfile"
[[ $build == *"-o /out/sseproxy ./cmd/sseproxy" ]] || fail "the build line must end with '-o /out/sseproxy ./cmd/sseproxy': $build"
env_line=$(sed -n 's/^ENV \(.*\)$/\1/p' Dockerfile)
[[ $env_line == "CGO_ENABLED=0" ]] || fail "want the build stage's only ENV to be CGO_ENABLED=0, got: $env_line"
VERSION=check-dockerfile
build=${build//\/out\//$out/}
log "go build as in the Dockerfile: $build"
# The golang image sets nothing else that changes the build; GOFLAGS from
# this machine must not leak in.
env -u GOFLAGS CGO_ENABLED=0 VERSION=$VERSION bash -c "$build"
bin=$out/sseproxy

# 2. The binary.
# (With -trimpath the build info leaves -ldflags out: check their effects.)
info=$(go version -m "$bin")
for want in 'build	CGO_ENABLED=0' 'build	-trimpath=true'; do
	grep -qF -- "$want" <<<"$info" || fail "binary built without '$want'"
done
if go tool nm "$bin" >/dev/null 2>&1; then
	fail "binary has a symbol table: built without -ldflags -s"
fi
if command -v readelf >/dev/null && readelf -l "$bin" | grep -q 'INTERP'; then
	fail "binary is dynamically linked: it cannot run on distroless/static"
fi
[[ $("$bin" version) == "sseproxy $VERSION" ]] || fail "'sseproxy version' = $("$bin" version), want sseproxy $VERSION"
grep -q '"healthcheck", "http://127.0.0.1:9090/healthz"' Dockerfile || fail "HEALTHCHECK does not run 'sseproxy healthcheck' on the admin port"
if "$bin" healthcheck http://127.0.0.1:1/healthz 2>/dev/null; then
	fail "'sseproxy healthcheck' exits 0 with nothing listening"
fi

# The compose config of docs/deploy.md: the ```toml block after the marker.
cfg=$out/sseproxy.toml
awk '/<!-- check-dockerfile: sseproxy.toml -->/{m=1; next} m && /^```toml/{p=1; next} p && /^```/{exit} p' docs/deploy.md >"$cfg"
[[ -s $cfg ]] || fail "docs/deploy.md has no \`\`\`toml block after <!-- check-dockerfile: sseproxy.toml -->"
SSEPROXY_BACKEND_ACCESS_KEY=minioadmin SSEPROXY_BACKEND_SECRET_KEY=minioadmin-secret \
	SSEPROXY_ACCESS_KEY=app SSEPROXY_SECRET_KEY=app-secret-123 \
	"$bin" config check "$cfg" >"$out/check.txt" || fail "the compose config of docs/deploy.md does not validate"
grep -q 'admin: http://0.0.0.0:9090' "$out/check.txt" || fail "the compose config must put the admin listener on 0.0.0.0:9090 (HEALTHCHECK)"
log "binary ok: static, trimmed, stripped, version stamped; compose config valid"

# 3. hadolint.
if ! command -v hadolint >/dev/null; then
	if [[ $(apt-cache policy hadolint 2>/dev/null | sed -n 's/^ *Candidate: //p') =~ ^[0-9] ]]; then
		log "installing hadolint from apt"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hadolint >/dev/null
	fi
fi
if command -v hadolint >/dev/null; then
	hadolint Dockerfile
	log "hadolint: ok"
else
	log "hadolint: not installed and not available from apt on this machine; Dockerfile lint skipped"
fi
