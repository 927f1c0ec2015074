# wasmgate: `make test` and `make demo` work on a fresh machine; everything they need is
# installed or built by the targets below and cached outside the repository.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: test demo bootstrap apt venv kit lint typecheck crds crds-check unit e2e bench clean

test: bootstrap lint typecheck crds-check kit  ## lint, type-check, then every test (unit + e2e)
	$(BIN)/pytest $(PYTEST_ARGS)

demo: bootstrap kit  ## the local kit, a signed sample plugin, a pod scheduled through it
	$(BIN)/python -m wasmgate_kit.demo

bootstrap: apt venv

apt:  ## Debian packages listed in tools/apt-packages.txt (clang, lld for C test plugins)
	@missing=$$(grep -v '^#' tools/apt-packages.txt | while read -r p; do \
	  [ -n "$$p" ] && ! dpkg -s "$$p" >/dev/null 2>&1 && echo "$$p"; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml kit/pyproject.toml tools/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c tools/constraints.txt -e '.[dev]' -e ./kit
	touch $@

kit: venv  ## build (or find cached) etcd, Kubernetes, kwok, schedulers, registries, cosign, oras
	$(BIN)/wasmgate-kit build

lint: venv
	$(BIN)/ruff check operator webhooks kit tests benchmarks
	$(BIN)/ruff format --check operator webhooks kit tests benchmarks
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

crds: venv  ## regenerate crds/ and docs/reference/api.md from the pydantic models
	$(BIN)/wasmgate crds --output crds --docs docs/reference/api.md

crds-check: venv  ## generated files current, and crds/kustomization.yaml lists each CRD file
	$(BIN)/wasmgate crds --output crds --docs docs/reference/api.md --check
	$(BIN)/pytest -q -p no:cacheprovider \
	  tests/unit/deploy/test_deploy_base.py::test_the_crd_kustomization_lists_every_generated_crd

unit: venv  ## tests/unit: no process of the kit, no kit build (tests/unit/conftest.py enforces it)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

e2e: venv kit  ## tests/e2e: everything that runs a component of the kit
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
