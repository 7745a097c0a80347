# The two commands of the README: `make demo` runs the service with simulated gateways and cameras on the embedded
# defaults; `make test` runs the whole test suite. Both install what they need first (.ci/setup).
.PHONY: setup demo test bench

setup:
	@bash .ci/setup

demo: setup
	.venv/bin/tichwatch run --simulate

test: setup
	.venv/bin/python -m pytest -q -p no:cacheprovider

# The quick benchmarks (each prints its ratio against a baseline measured in the same run); bench/dust_transfer.py
# trains models for about 20 min and is run on its own.
bench: setup
	for b in ingest_throughput chart_query sse_fanout flood_detector_cost alert_latency dust_fps; do \
		.venv/bin/python bench/$$b.py || exit 1; done
