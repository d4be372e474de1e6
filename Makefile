# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run reset-dev test lint fmt bench bench-pulse bench-api bench-render services check-deploy hostile chaos chaos-short

run: ## build and run all three daemons with example hooks
	bash scripts/dev-run.sh

reset-dev: ## drop this checkout's development database and forget .dev/ (the next make run starts afresh)
	bash scripts/dev-db.sh reset

test: services ## every test, against the local Postgres and RabbitMQ
	cargo test --workspace --all-targets
	HOOKS_CHAOS=short cargo test -p chaos --test chaos
	bash scripts/check-deploy.sh
	bash scripts/smoke-make-run.sh

lint: ## what CI checks besides the tests
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

check-deploy: ## validate deploy/ (Kubernetes manifests, systemd units); also part of make test
	bash scripts/check-deploy.sh

fmt:
	cargo fmt --all

services: ## start Postgres and RabbitMQ when they are down
	bash scripts/services.sh

bench: services ## release-build benchmarks, printed as tables
	cargo build --release --bins
	cargo bench -p hooks-core --bench render
	cargo bench -p scheduler --bench scheduler
	cargo bench -p pulse-listener --bench pulse
	cargo bench -p api-server --bench api

hostile: services ## the hostile-input suite: the whole corpus against the release daemons, printed as a table
	cargo build --release --bins
	HOOKS_HOSTILE=full cargo test --release -p hostile --test hostile

chaos: services ## the fault-injection suite at full size against the release daemons, printed as a table (minutes)
	cargo build --release --bins
	HOOKS_CHAOS=full cargo test --release -p chaos --test chaos

chaos-short: services ## the fault-injection suite, a few seconds per scenario (also part of make test, on the debug build)
	cargo build --release --bins
	HOOKS_CHAOS=short cargo test --release -p chaos --test chaos

bench-pulse: services ## the Pulse listener's benchmark alone
	cargo build --release --bins
	cargo bench -p pulse-listener --bench pulse

bench-api: services ## the api-server's benchmark alone
	cargo build --release --bins
	cargo bench -p api-server --bench api

bench-render: ## what rendering costs, in process and through the render workers
	cargo build --release -p hooks-core --bin hooks-render
	cargo bench -p hooks-core --bench render
