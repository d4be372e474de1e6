# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run test lint fmt bench bench-pulse services

run: ## build and run all three daemons with example hooks
	bash scripts/dev-run.sh

test: services ## every test, against the local Postgres and RabbitMQ
	cargo test --workspace --all-targets

lint: ## what CI checks besides the tests
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

bench: bench-pulse ## every benchmark, on a release build

bench-pulse: services ## Pulse listener: messages → tasks throughput and latency, one and two replicas, a burst
	cargo build --release -p pulse-listener --bins
	$${CARGO_TARGET_DIR:-target}/release/bench-pulse

services: ## start Postgres and RabbitMQ when they are down
	bash scripts/services.sh
