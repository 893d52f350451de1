# One command to run, one to test. See README.md.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run stop status lint format test faults mails sms bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=23.2"
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

# several instances of a service: make run SCALE="routing=2 notify=2"
run: install
	$(PY) -m deploy.local.stack run --scale "$(SCALE)"

stop:
	$(PY) -m deploy.local.stack stop

status:
	$(PY) -m deploy.local.stack status

mails:
	$(PY) -m deploy.local.smtp_sink list --maildir var/mail

sms:
	$(PY) -m deploy.local.sms_sink list --dir var/sms

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	deploy/local/ensure_chromium.sh
	$(PY) -m deploy.local.testrun $(PYTEST_ARGS)

# The full fault suite (about 8 minutes): stops RabbitMQ and restarts PostgreSQL under load.
faults: install
	$(PY) -m deploy.local.testrun tests/faults/test_outages.py -m faults_full $(PYTEST_ARGS)

# submissions, end-to-end latency and scaling (issue 13); BENCH_ARGS=--quick for shorter runs
bench: install
	$(PY) bench/throughput_bench.py $(BENCH_ARGS)
	$(PY) bench/routing_bench.py --skip-e2e
	$(PY) bench/agenda_bench.py
	$(PY) bench/notify_bench.py
	$(PY) bench/search_bench.py

clean: stop
	rm -rf var
