# The two commands that matter: `make demo` runs a simulated district end to end,
# `make test` runs every test on real servers. Both install what is missing first.
.PHONY: demo test check setup-runtime setup-test bench

PY := .venv/bin/python
ARGS ?=

setup-runtime:
	@scripts/setup.sh runtime

setup-test:
	@scripts/setup.sh test

demo: setup-runtime
	.venv/bin/eldercare demo $(ARGS)

test: setup-test
	$(PY) -m pytest $(ARGS)

check: setup-test
	.venv/bin/ruff check .
	.venv/bin/mypy
