# wxfarm: the two commands a new user needs, and a few more.
#   make serve   build, write sample data (first time), serve on :8080
#   make test    every test, plus fmt and clippy
#   make bench   system benchmark (release server + loadgen) → docs/performance.md
#   make soak    5-minute valid + hostile soak (2,000 slow clients) → docs/reliability.md
SHELL := /bin/bash
DATA ?= data-demo
LISTEN ?= 0.0.0.0:8080

.PHONY: shared-data setup setup-strict build serve test lint bench soak bench-micro bench-peers bench-farm demo-data farm farm-down style-samples screenshots validate-deploy

setup:
	@scripts/setup.sh

# Building and serving need only the Rust toolchain: nothing is installed.
build:
	@scripts/setup.sh --build
	cargo build --release --bin wxfarm

demo-data: build
	@if [ -z "$$(ls -A $(DATA) 2>/dev/null)" ]; then \
	  cargo run --release --quiet --bin wxfarm -- demo-data $(DATA); \
	fi

serve: demo-data
	cargo run --release --quiet --bin wxfarm -- serve --data $(DATA) --listen $(LISTEN)

lint: setup
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

# WXFARM_REQUIRE_ALL: a test whose tool or data is missing fails, naming it,
# instead of skipping (tests/support/require.rs).
test: setup-strict lint validate-deploy shared-data
	WXFARM_REQUIRE_ALL=1 cargo test --workspace --no-fail-fast

# setup, failing when a tool the tests need cannot be installed.
setup-strict:
	@WXFARM_REQUIRE_ALL=1 scripts/setup.sh

# The real producers' files the decoding and farm tests compare against.
shared-data:
	@test -d ../shared/data/grib || { echo "make test: ../shared/data/grib is missing (the real GRIB2 samples beside the repository)" >&2; exit 1; }

# System benchmark: release `wxfarm serve` driven by wxfarm-loadgen (~10 min);
# rewrites the "System benchmarks (make bench)" and "Prefetch and warming
# (make bench)" sections of docs/performance.md.
bench: setup
	scripts/bench.sh
	scripts/bench-prefetch.sh

soak: setup
	scripts/soak.sh

# The farm's miss path vs the embedded one, L2 hits, 1 vs 2 workers (~2 min).
bench-farm: setup
	scripts/bench-farm.sh

# GRIB2 decoding beside ecCodes (PyPI wheel), every packing template
# including the real JPEG 2000, PNG and CCSDS samples (~2 min); rewrites the
# per-template ratio table in docs/performance.md (decode-peers markers).
bench-peers: setup
	WXFARM_PEERS_DOC=docs/performance.md scripts/bench-decode-peers.sh 15

# Criterion micro-benchmarks (decode, tile rendering).
bench-micro: setup
	cargo bench --workspace

# One sample map per style from the demo data → docs/styles/*.png.
style-samples:
	scripts/style-samples.sh

# Viewer screenshots for the README (headless Chromium) into docs/screenshots/.
screenshots:
	scripts/screenshots.sh

# A whole distributed farm on loopback (NATS, Redis, S3 via moto, scheduler,
# two workers, a gateway); prints its endpoints and PIDs as JSON.
FARM_DIR ?= .farm
farm: setup build
	cargo run --release --quiet --bin wxfarm -- farm up --dir $(FARM_DIR)

farm-down:
	cargo run --release --quiet --bin wxfarm -- farm down --dir $(FARM_DIR)

# Offline checks of Dockerfile, docker-compose.yml, k8s/ and dashboards/
# (schemas, and names/flags/metrics against the code); no Docker or cluster.
validate-deploy:
	scripts/validate-deploy.sh
