# The two commands of the README: `make demo` runs the service with simulated gateways and cameras on the embedded
# defaults; `make test` runs the whole test suite. Both install what they need first (.ci/setup).
.PHONY: setup demo test bench

setup:
	@bash .ci/setup

demo: setup
	.venv/bin/tichwatch run --simulate

test: setup
	.venv/bin/python -m pytest -q -p no:cacheprovider

bench: setup
	.venv/bin/python bench/run_all.py
