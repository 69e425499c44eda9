# Two entry points on a fresh machine with only Python 3.11 and make:
#   make run   – set up .venv and refresh the warehouse from the bundled sample data
#   make test  – set up .venv with dev extras and run the whole test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export REFERRAL_INSIGHTS_RAW_DIR ?= $(CURDIR)/data/sample
export REFERRAL_INSIGHTS_WAREHOUSE ?= $(CURDIR)/data/warehouse/referral_insights.duckdb

.PHONY: run test ui docs install lint clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Re-install only when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	@# pip's stderr (noisy warnings about this machine's extra index dirs) goes to a log shown on failure
	$(BIN)/python -m pip install -q -e '.[dev]' 2>$(VENV)/pip.log || { cat $(VENV)/pip.log; exit 1; }
	$(BIN)/python -c "import orchestration, dagster, dbt.version, great_expectations" 
	mkdir -p $(DAGSTER_HOME) && touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/referral-insights refresh

# Two pytest-xdist workers (TEST_WORKERS=0: one process), one test module per worker at a time
# (a module shares one refresh between its tests): ~16 min in one process on 2 cores, 7:40-8:25
# on two or three workers (CPU-bound beyond that). The tests' temporary folders (warehouses,
# Dagster homes) go to memory when /dev/shm exists: their fsyncs then cost nothing.
TEST_WORKERS ?= 2
TEST_TMP ?= $(if $(wildcard /dev/shm),/dev/shm/referral-insights-tests,)
test: $(STAMP) browser
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(if $(TEST_TMP),--basetemp=$(TEST_TMP))

# Unit tests only: no refresh, dbt, server, daemon or browser (well under a minute).
.PHONY: test-fast
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not e2e and not browser and not daemon and not spark"

# A Chromium for the dashboard's browser tests: Debian's package when root (Playwright cannot
# download browsers on every machine), else Playwright's managed browser; otherwise one line
# saying what to install. Never skipped silently.
.PHONY: browser
browser: $(STAMP)
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif $(BIN)/python -m playwright install chromium >/dev/null 2>&1; then :; \
	else echo "make test needs Chromium for the browser tests: apt-get install chromium (as root) or .venv/bin/python -m playwright install chromium"; exit 1; fi

# The same dbt project on Apache Spark (local PySpark session; Java 17), compared row for row with
# the DuckDB build of the sample data (tests/spark, marker `spark`, left out of `make test`); and a
# daemon-launched run with PySpark installed (tests/test_daemon.py).
SPARK_STAMP := $(VENV)/.installed-spark
$(SPARK_STAMP): $(STAMP)
	@command -v java >/dev/null 2>&1 || { echo "make test-spark needs Java 17 on PATH (apt-get install openjdk-17-jre-headless)"; exit 1; }
	$(BIN)/python -m pip install -q -e '.[dev,spark]' 2>$(VENV)/pip.log || { cat $(VENV)/pip.log; exit 1; }
	$(BIN)/python -c "import pyspark, dbt.adapters.spark"
	touch $(SPARK_STAMP)

.PHONY: test-spark
test-spark: $(SPARK_STAMP)
	$(BIN)/python -m pytest -m spark tests/spark tests/test_daemon.py

lint: $(STAMP)
	$(BIN)/ruff check orchestration dashboard synthetic sandbox tests bench

# The instance settings the project ships (run queue: one warehouse writer at a time), copied
# into DAGSTER_HOME whenever the shipped file is newer; a replaced, different copy is kept as .bak.
$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	@if [ -f $@ ] && ! cmp -s $< $@; then cp $@ $@.bak; echo "$@ replaced (old copy: $@.bak)"; fi
	cp $< $@

ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# The reference dashboard (http://127.0.0.1:$(DASHBOARD_PORT)/) over the published marts; refreshes
# the sample data first only when nothing has been published for this warehouse yet.
.PHONY: dashboard
DASHBOARD_PORT ?= 8050
dashboard: $(STAMP)
	@test -f "$(dir $(REFERRAL_INSIGHTS_WAREHOUSE))serving.duckdb" || $(BIN)/referral-insights refresh
	$(BIN)/referral-insights dashboard --port $(DASHBOARD_PORT)

# dbt docs as one self-contained page (lineage source → staging → mart → widget, every column).
docs: $(STAMP)
	mkdir -p $(dir $(REFERRAL_INSIGHTS_WAREHOUSE))
	cd dbt_project && ../$(BIN)/dbt docs generate --static --profiles-dir . --target-path target/docs
	@echo "dbt docs: $(CURDIR)/dbt_project/target/docs/static_index.html"

# Benchmark (bench/README.md): full + incremental refresh vs a plain pandas baseline whose marts
# must equal the pipeline's (exit 1 otherwise); tables in bench/results/, data in bench/work/.
.PHONY: bench bench-small
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python bench/run.py --referrals 1000000 --scaling 100000,300000,3000000 --skip-incremental-check $(BENCH_ARGS)

bench-small: $(STAMP)
	$(BIN)/python bench/run.py --referrals 50000 --skip-force $(BENCH_ARGS)

# Extraction demo (docs/extract.md): the Partner Center sandbox over a generated year, then weekly
# extract -> refresh cycles against it; the warehouse stays in data/demo/warehouse/.
.PHONY: demo
demo: $(STAMP)
	$(BIN)/python -m sandbox.demo

clean:
	rm -rf data/warehouse dbt_project/target dbt_project/logs .dagster_home
