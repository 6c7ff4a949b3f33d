# The two commands of the README: `make run` and `make test`.
.PHONY: run test bench setup

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

bench:
	@bash scripts/bench.sh

setup:
	@bash scripts/setup.sh
