# onestop — the commands a developer and ops need. `make demo` and `make test` bootstrap themselves.
SHELL := /bin/bash
PY_SYS ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1
PYTEST_WORKERS ?= 2

# checkov, the infrastructure scan (issue 19), in a venv of its own like PaddleOCR's: checkov 3.3.30
# requires boto3 1.35, packaging 23 and networkx 2, older than what aws-sam-cli and the dev extra
# install. Pinned exactly: a newer checkov brings new checks, and the scan fails on any finding the
# template does not argue (a checkov skip with its reason in the resource's Metadata). Run without
# Prisma Cloud (--skip-download): no network at scan time, the same result offline and in CI.
# tests/infra/test_security_scan.py runs the same command (and `make checkov-venv` if needed).
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV ?= .venv/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_ARGS := -f template.yaml --framework cloudformation --compact --quiet --skip-download

.PHONY: demo serve system-packages test test-unit test-integration test-e2e test-paddle lint format bench eval build validate clean mutate scan checkov-venv

$(PY):
	@command -v $(PY_SYS) >/dev/null || { echo "need $(PY_SYS) (the Lambda runtime's Python)"; exit 1; }
	$(PY_SYS) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(STAMP): pyproject.toml layers/core/requirements.txt | $(PY)
	$(VENV)/bin/pip install -q -e '.[ocr,dev]'
	$(VENV)/bin/pip install -q --no-deps $$($(PY) infra/image_requirements.py --no-deps)
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## run the whole flow end to end on the embedded local stack and print what happened
	$(PY) -m infra.local demo --moto-port 0 --api-port 0 --out demo-output

serve: $(STAMP)  ## run the local stack until Ctrl-C (API on :3000, AWS on :4566)
	$(PY) -m infra.local serve

system-packages:  ## the Debian packages the tests need (poppler, NSS tools, CJK font, chromium, libGL), if missing
	@bash infra/system_packages.sh

test: $(STAMP) $(CHECKOV_STAMP) system-packages  ## every test: unit, integration (moto), e2e (local stack over HTTP), infrastructure
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -q
	$(MAKE) --no-print-directory test-paddle

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

test-integration: $(STAMP)
	$(PY) -m pytest tests/integration -q

test-e2e: $(STAMP)
	$(PY) -m pytest tests/e2e -q

# The optional PaddleOCR engine runs in a venv of its own: paddleocr pins opencv-contrib-python,
# which would clash with the ocr extra's opencv-python-headless (two cv2 packages in one venv). No
# paddlepaddle: onnxruntime runs the models. rapidocr comes without its dependencies, only for the
# ONNX models in its wheel, from which the tests build the model directories (infra/paddle_models.py).
# moto only because tests/conftest.py imports it.
# Inside .venv/ so that it is git-ignored and outside ruff's reach, like the main venv.
PADDLE_VENV ?= .venv/paddle
PADDLE_STAMP := $(PADDLE_VENV)/.installed

$(PADDLE_STAMP): pyproject.toml
	@command -v $(PY_SYS) >/dev/null || { echo "need $(PY_SYS) (the Lambda runtime's Python)"; exit 1; }
	$(PY_SYS) -m venv $(PADDLE_VENV)
	$(PADDLE_VENV)/bin/pip install -q --upgrade pip
	$(PADDLE_VENV)/bin/pip install -q -e . 'paddleocr>=3.7,<3.8' 'onnxruntime>=1.18' \
		'pytest>=8.2' 'pytest-timeout>=2.3' 'moto>=5.0.20'
	$(PADDLE_VENV)/bin/pip install -q --no-deps 'rapidocr>=3.0'
	@touch $(PADDLE_STAMP)

$(CHECKOV_STAMP):
	@command -v $(PY_SYS) >/dev/null || { echo "need $(PY_SYS) (the Lambda runtime's Python)"; exit 1; }
	$(PY_SYS) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/pip install -q 'checkov==$(CHECKOV_VERSION)'
	@touch $(CHECKOV_STAMP)

checkov-venv: $(CHECKOV_STAMP)

test-paddle: $(PADDLE_STAMP)  ## the optional PaddleOCR engine, real inference, in its own venv
	$(PADDLE_VENV)/bin/python -m pytest tests/unit/test_materials_ocr_engine.py -k paddle -q

lint: $(STAMP) $(CHECKOV_STAMP)  ## ruff (lint + format check), mypy and the infrastructure scan
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(CHECKOV) $(CHECKOV_ARGS)

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Mutation testing (issue 20), not part of `make test`: about 25 minutes on 2 cores (docs/mutation.md).
# mutmut 3.8 declares click>=8.4.2 while aws-sam-cli pins click==8.1.8, so it cannot sit in the dev
# extra (pip would refuse the set); it works with click 8.1.8 and is installed here without its
# declared dependencies, which are listed instead. MUTATE_GROUPS: a subset of infra/mutation.py's GROUPS.
MUTMUT_STAMP := $(VENV)/.mutmut-3.8.1
MUTATE_GROUPS ?=

$(MUTMUT_STAMP): $(STAMP)
	$(VENV)/bin/pip install -q 'libcst>=1.9' 'setproctitle>=1.3.7' 'textual>=1.0' 'coverage>=7.3'
	$(VENV)/bin/pip install -q --no-deps 'mutmut==3.8.1'
	@touch $(MUTMUT_STAMP)

mutate: $(MUTMUT_STAMP)  ## mutation testing of the trust-boundary modules; results go to docs/mutation.md
	$(PY) -m infra.mutation run $(MUTATE_GROUPS)

bench: $(STAMP)  ## benchmarks; results go to docs/benchmarks.md
	$(PY) -m bench

# Accuracy of the materials pipeline on a labelled set (corpus images + rendered documents under
# photo-like damage), about 7 minutes on 2 cores; EVAL_ARGS=--quick for a smaller set (3 minutes).
EVAL_ARGS ?=
eval: $(STAMP)  ## accuracy of OCR, fields, classification, orientation; results go to docs/accuracy.md
	EVAL_COMMAND='make eval $(if $(EVAL_ARGS),EVAL_ARGS="$(EVAL_ARGS)")' $(PY) -m evaluation $(EVAL_ARGS)

validate: $(STAMP) $(CHECKOV_STAMP)  ## sam validate --lint, cfn-lint and the infrastructure scan (checkov)
	$(VENV)/bin/sam validate --lint --region us-east-1
	$(VENV)/bin/cfn-lint template.yaml
	$(CHECKOV) $(CHECKOV_ARGS)

scan: $(CHECKOV_STAMP)  ## checkov on template.yaml: fails on any finding not argued in the template (docs/operations.md)
	$(CHECKOV) $(CHECKOV_ARGS)

build: $(STAMP)  ## sam build (the ingest image needs Docker: `make build` builds the zip functions without it)
	@if docker info >/dev/null 2>&1; then $(VENV)/bin/sam build; \
	else echo "no Docker engine: building the zip functions only"; \
	$(VENV)/bin/sam build ApiFunction IssueFunction VerifyFunction SchedulerFunction; fi

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache demo-output test-artifacts
