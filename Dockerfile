# clarion's container image, for those who build with Docker, Podman or
# Buildah:
#
#     docker build -t clarion:0.1.0 .
#
# `make image` builds the same kind of image without any engine, smaller
# (no shell, no package manager: only the libraries the binary links) and
# reproducibly (docs/deploy.md).  This file is not built by the project's
# tests, whose machines have no container engine; it is kept simple so that
# it stays obviously right: Debian 12 in both stages, the build packages of
# scripts/install-deps in the first, their runtime libraries in the second.

FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      gcc make pkg-config libc6-dev git ca-certificates \
      libssl-dev libjansson-dev libcurl4-openssl-dev libarchive-dev \
      zlib1g-dev libzstd-dev libisal-dev libsqlite3-dev libpq-dev \
      librpm-dev libxml2-dev libfyaml-dev libmicrohttpd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" \
 && strip --strip-unneeded build/clarion

FROM debian:bookworm-slim
# The runtime halves of the -dev packages above (rpm-common: the rpmrc and
# macros librpm reads before opening any rpm database), and the non-root
# user distroless images use.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libssl3 libjansson4 libcurl4 libarchive13 zlib1g \
      libzstd1 libisal2 libsqlite3-0 libpq5 librpm9 rpm-common libxml2 \
      libfyaml0 libmicrohttpd12 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd -g 65532 nonroot \
 && useradd -u 65532 -g 65532 -d /home/nonroot -m -s /usr/sbin/nologin nonroot \
 && install -d -o 65532 -g 65532 -m 0700 /var/lib/clarion
COPY --from=build /src/build/clarion /usr/bin/clarion
COPY deploy/image-config.yaml /etc/clarion/config.yaml
RUN ln -s clarion /usr/bin/klar

LABEL org.opencontainers.image.title="clarion" \
      org.opencontainers.image.description="Container image vulnerability scanner (Clair v4 and v1 API, Klar CLI)" \
      org.opencontainers.image.version="0.1.0"
USER 65532:65532
WORKDIR /home/nonroot
# 6060: the Clair v4 and v1 APIs; 8089: /healthz, /readyz, /metrics.
EXPOSE 6060 8089
ENTRYPOINT ["/usr/bin/clarion"]
CMD ["serve", "-c", "/etc/clarion/config.yaml"]
