# Subnetes developer entry points. `make demo` runs a local network; `make test` runs all tests.
.PHONY: setup test lint fmt build crds cluster-up cluster-down demo bench clean

setup:
	bash hack/setup.sh

test:
	bash hack/test.sh

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	bash hack/typecheck.sh

fmt: setup
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

build:
	bash hack/build-control-plane.sh

# Regenerate crds/ from operator/crds and copy them into the platform chart.
crds: setup
	bash hack/gen-crds.sh

cluster-up:
	bash hack/cluster-up.sh

cluster-down:
	bash hack/cluster-down.sh

demo:
	bash hack/demo.sh $(ARGS)

bench: setup
	.venv/bin/python -m subnetes.consensus.bench
