# syntax=docker/dockerfile:1
# Multi-stage build: a static, non-root binary on a distroless base that works
# with a read-only root filesystem (only DATA_DIR needs to be writable).
FROM golang:1.27.3 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/api ./cmd/api

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/api /api
USER nonroot:nonroot
ENV APP_ENV=production \
    LISTEN_ADDR=:8080 \
    METRICS_ADDR=:9090 \
    DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080 9090
ENTRYPOINT ["/api"]
CMD ["serve"]
