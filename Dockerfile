# syntax=docker/dockerfile:1
# Build a static binary, then ship it alone on a distroless, non-root base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/alumnipass ./cmd/alumnipass \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="alumnipass" \
      org.opencontainers.image.description="Alumni membership cards with rotating QR codes, guest passes and venue verification" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/alumnipass/alumnipass"
COPY --from=build /out/alumnipass /alumnipass
COPY --from=build --chown=65532:65532 /out/data /data
ENV ALUMNIPASS_ADDR=:8080 ALUMNIPASS_DATA_DIR=/data
USER 65532:65532
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 CMD ["/alumnipass", "healthcheck"]
ENTRYPOINT ["/alumnipass"]
CMD ["serve"]
