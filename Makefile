# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run test lint fmt bench services

run: ## build and run all three daemons with example hooks
	bash scripts/dev-run.sh

test: services ## every test, against the local Postgres and RabbitMQ
	cargo test --workspace --all-targets
	bash scripts/smoke-make-run.sh

lint: ## what CI checks besides the tests
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

services: ## start Postgres and RabbitMQ when they are down
	bash scripts/services.sh

bench: services ## release-build benchmarks, printed as tables
	cargo bench -p scheduler --bench scheduler
	cargo bench -p api-server --bench api
