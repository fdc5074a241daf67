# syntax=docker/dockerfile:1
#
# sseproxy container image: one static binary on distroless, run as non-root.
#
#   docker build --build-arg VERSION="$(git describe --tags --always)" -t sseproxy .
#   docker run -v "$PWD/sseproxy.toml:/etc/sseproxy/sseproxy.toml:ro" -p 8080:8080 sseproxy
#
# docs/deploy.md has a compose file and a Kubernetes sidecar. CI has no Docker:
# scripts/check-dockerfile.sh runs the `go build` line below, exactly as written.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/sseproxy ./cmd/sseproxy
# The state directory, created here: distroless has no shell to mkdir.
RUN mkdir -p /out/state

# static-debian12 has CA certificates (for https backends and ACME), tzdata
# and the nonroot user (65532); nothing else, not even a shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sseproxy /usr/local/bin/sseproxy
COPY --from=build --chown=65532:65532 /out/state /var/lib/sseproxy
# Relative paths of the config (./sseproxy-keys.json, ./sseproxy-acme,
# ./sseproxy-data) land in the volume.
WORKDIR /var/lib/sseproxy
VOLUME ["/var/lib/sseproxy"]
USER 65532:65532
# 8080: S3 API without TLS, or the HTTP->HTTPS redirect and ACME HTTP-01
#       (acme_http_port = 8080) with TLS
# 8443: S3 API with TLS (ACME TLS-ALPN-01: acme_tls_port = 8443)
# 9090: admin: /healthz, /readyz, /metrics; off by default, so the config
#       must set admin.listen = "0.0.0.0:9090"
# Unprivileged ports: map 80 and 443 to them on the host or load balancer.
EXPOSE 8080 8443 9090
# Needs the admin listener on 9090 of the container's loopback (0.0.0.0:9090
# includes it). docker stop -t (compose stop_grace_period) must exceed
# server.shutdown_grace, or uploads in flight are killed before it ends.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
	CMD ["/usr/local/bin/sseproxy", "healthcheck", "http://127.0.0.1:9090/healthz"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/sseproxy"]
CMD ["serve", "--config", "/etc/sseproxy/sseproxy.toml"]
