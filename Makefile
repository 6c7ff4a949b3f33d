# The two commands of the README: `make run` and `make test`.
.PHONY: run test bench setup fuzz

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

bench:
	@bash scripts/bench.sh

setup:
	@bash scripts/setup.sh

# Coverage-guided fuzzing (nightly, cargo-fuzz) and the Node differential fuzzers; not part of
# `make test`. FUZZ_SECONDS per target (default 60), FUZZ_TARGETS to pick some.
fuzz:
	@bash scripts/fuzz.sh
