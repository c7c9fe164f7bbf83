# Armswatch — every setup step lives here, so a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint demo bench bench-quick constraints clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install Armswatch with its test tools

run: $(STAMP)  ## run the service on config/ (Ctrl-C stops)
	$(BIN)/armswatch run

demo: $(STAMP)  ## offline demo on bundled sample feeds
	$(BIN)/armswatch demo

# The screenshot tests (tests/test_browse.py, tests/test_browse_pages.py) drive Debian's
# Chromium. On CI (root, with apt-get) it is installed here; elsewhere they skip, said in one line.
chromium:  ## Debian's Chromium for the screenshot tests, when missing and we are root with apt-get
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the screenshot tests (apt-get)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
	    chromium fonts-dejavu-core >/dev/null || \
	  echo "chromium: apt-get install failed; the screenshot tests will be skipped"; \
	else echo "chromium: /usr/bin/chromium is missing (not root with apt-get); the screenshot tests will be skipped"; fi

test: $(STAMP) chromium  ## the whole test suite
	$(BIN)/python -m pytest -q

lint: $(STAMP)  ## ruff and mypy --strict
	$(BIN)/ruff check monitor storage alerts tests bench deploy
	$(BIN)/mypy
	$(BIN)/mypy deploy/lock_constraints.py

bench: $(STAMP)  ## benchmarks on loopback: prints a table, writes bench/results.json
	$(BIN)/python -m bench

bench-quick: $(STAMP)  ## the same figures on smaller inputs (under a minute)
	$(BIN)/python -m bench --quick

constraints: $(STAMP)  ## pin the image's Python packages to this venv's (deploy/constraints.txt)
	$(BIN)/python deploy/lock_constraints.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
