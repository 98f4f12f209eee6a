# syntax=docker/dockerfile:1
# Multi-stage build: a static, non-root binary on a distroless base that works
# with a read-only root filesystem (only DATA_DIR, a volume, is written).
# Checked without a Docker engine by deploy/check.sh.

# go.mod asks for go 1.26.8 at least, but shipped binaries are built with the
# release toolchain go1.27.3, whose standard library fixes advisories that
# go1.26.8 has (SECURITY.md). GOTOOLCHAIN=local: build with the image's own Go,
# never download another one during the build.
FROM golang:1.27.3 AS build
ENV GOTOOLCHAIN=local \
    CGO_ENABLED=0
# DATA_DIR of the final image. Distroless has no shell to create it there, so it
# is made here and copied over owned by the nonroot user (uid 65532); a named
# volume mounted on /data takes this owner on first use, so it starts writable.
RUN mkdir -p -m 0700 /data/uploads && chmod 0700 /data
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# `docker build --build-arg VERSION=$(git describe --tags --always --dirty)`;
# `api --version` prints it.
ARG VERSION=dev
RUN go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/api ./cmd/api

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/api /api
COPY --from=build --chown=65532:65532 /data /data
# nonroot: numeric, so runtimes can verify it is not root without /etc/passwd.
USER 65532:65532
# Metrics stay off here (no METRICS_ADDR): the internal listener is enabled
# where it is deployed, on a network the public cannot reach (deploy/compose.yaml).
ENV APP_ENV=production \
    LISTEN_ADDR=:8080 \
    DATA_DIR=/data
# Without a mount, /data still gets a writable anonymous volume under --read-only.
VOLUME ["/data"]
EXPOSE 8080
# `api healthcheck` asks GET /healthz on LISTEN_ADDR itself: no shell or curl needed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/api", "healthcheck"]
ENTRYPOINT ["/api"]
CMD ["serve"]
