# The two commands of the README: `make demo` runs the service with simulated gateways and cameras on the embedded
# defaults; `make test` runs the linter, the type checker and then the whole test suite twice: on the embedded SQLite
# store, and on PostgreSQL (a private server the tests start, from Debian's postgresql package). Both install what they
# need first (.ci/setup).
.PHONY: setup demo lint test test-postgresql bench

setup:
	@bash .ci/setup

demo: setup
	.venv/bin/tichwatch run --simulate

# The linter and the type checker (pyproject's [tool.ruff] and [tool.mypy]: strict on the runtime packages) run first;
# the tests run only when both pass.
lint: setup
	@.venv/bin/ruff check . || { echo "make: ruff found the problems above (many fix with .venv/bin/ruff check --fix)"; exit 1; }
	@.venv/bin/python .ci/typecheck || { echo "make: mypy found the type errors above (.ci/typecheck runs it)"; exit 1; }

test: setup lint
	.venv/bin/python -m pytest -q -p no:cacheprovider
	TICHWATCH_TEST_DATABASE=postgresql .venv/bin/python -m pytest -q -p no:cacheprovider

# The PostgreSQL pass alone (make test runs it after the SQLite one).
test-postgresql: setup
	TICHWATCH_TEST_DATABASE=postgresql .venv/bin/python -m pytest -q -p no:cacheprovider

# The quick benchmarks (each prints its ratio against a baseline measured in the same run); bench/dust_transfer.py
# trains models for about 20 min, bench/retention_prune.py prunes a million rows twice and bench/cluster_nodes.py runs
# 1, 2 and 3 nodes under a province's load (about 5 min): each is run on its own.
bench: setup
	for b in ingest_throughput chart_query sse_fanout flood_detector_cost alert_latency dust_fps \
	         frame_memory login_memory nonce_store postgres_ingest; do \
		.venv/bin/python bench/$$b.py || exit 1; done
