# syntax=docker/dockerfile:1
# wxfarm: one image for every role (serve, gateway, worker, scheduler, ingest…);
# the subcommand picks the role, e.g. `docker run IMAGE gateway --nats …`.

# ---- build ------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
# The whole workspace: the binary depends on every member crate, and
# config/layers.toml is compiled in (include_str!).
COPY . .
# PROJ 9 for WMS maps in any EPSG CRS (the proj crate links libproj through
# pkg-config and generates its bindings with libclang) and libnetcdf (with
# HDF5) for the NetCDF4/GOES-R reader, and libaec for CCSDS-packed GRIB2
# (template 5.42), all linked dynamically. (OpenJPEG, for JPEG 2000, is
# compiled from the jpeg2k crate's bundled sources.)
RUN apt-get update \
 && apt-get install -y --no-install-recommends libproj-dev libclang-dev libnetcdf-dev libaec-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
# Cache mounts keep the registry and target/ between builds (BuildKit); the
# binary is copied out because target/ is not part of the image layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin wxfarm \
 && install -m 0755 target/release/wxfarm /usr/local/bin/wxfarm

# ---- runtime ----------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: TLS to AWS S3 / managed NATS and Redis. No curl/wget on
# purpose (small surface); health checks use the orchestrator's HTTP probes.
# libproj25 + proj-data: PROJ and its database (proj.db), which maps in EPSG
# CRSs read at run time; libnetcdf19: the NetCDF4 library (pulls libhdf5);
# libaec0: CCSDS decoding.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libproj25 proj-data libnetcdf19 libaec0 \
 && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 wxfarm \
 && useradd --system --uid 10001 --gid wxfarm --home-dir /var/lib/wxfarm --create-home wxfarm
COPY --from=builder /usr/local/bin/wxfarm /usr/local/bin/wxfarm
# The shipped layer catalogue, as a starting point for `--layers` overrides
# (the same file is built into the binary).
COPY protocol/layers.toml /etc/wxfarm/layers.toml
USER 10001:10001
WORKDIR /var/lib/wxfarm
ENV RUST_LOG=info
# Gateway HTTP (+ /metrics, /healthz); worker and scheduler /metrics.
EXPOSE 8080 9091 9092
ENTRYPOINT ["wxfarm"]
CMD ["--help"]
