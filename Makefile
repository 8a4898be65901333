# phatnguoi: `make demo` runs the whole pipeline on this machine; `make test` passes the tests.
# Both do every set-up step themselves on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint models bench setup clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	YOLO_OFFLINE=1 $(BIN)/phatnguoi demo

test: $(STAMP) /usr/bin/docker-compose /usr/bin/chromium /usr/bin/pdftoppm
	$(BIN)/ruff check .
	$(BIN)/mypy ingest detection cases notices phatnguoi
	YOLO_OFFLINE=1 $(BIN)/python -m pytest -q

# The deploy tests validate deploy/compose.yaml with Debian's docker-compose (no engine needed);
# the browser tests drive Debian's Chromium with Playwright; notice tests turn PDF pages into PNGs.
/usr/bin/docker-compose:
	apt-get update -q && apt-get install -y -q --no-install-recommends docker-compose

/usr/bin/chromium:
	apt-get update -q && apt-get install -y -q --no-install-recommends chromium

/usr/bin/pdftoppm:
	apt-get update -q && apt-get install -y -q --no-install-recommends poppler-utils

# Retrain both shipped models (long: about two hours for the detector and six to seven for the plate reader on
# this 2-core CPU; see docs/model-detector.md and docs/model-plate-reader.md). The tests never retrain.
models: $(STAMP)
	$(BIN)/pip install -q -e '.[train]'
	YOLO_OFFLINE=1 $(BIN)/phatnguoi train detector --n 800 --seed 1 --epochs 100 --hours 1.1 --imgsz 640 --batch 8 --workers 0 --threads 2 --close-mosaic 2
	# then fine-tuned on a second, larger set with more oncoming (wrong-way) vehicles (docs/model-detector.md)
	mkdir -p runs && cp detection/models/detector/detector.pt runs/detector_stage1.pt
	YOLO_OFFLINE=1 $(BIN)/phatnguoi train detector --init runs/detector_stage1.pt --n 1200 --seed 2 --epochs 12 --hours 1.0 --imgsz 640 --batch 8 --workers 0 --threads 2 --close-mosaic 2 --runs runs/detector2
	# the plate reader is fine-tuned in stages from the first reader (docs/model-plate-reader.md)
	mkdir -p runs && git show 036d355:detection/models/plate_ocr/vn_plate_ocr.onnx > runs/reader_stage3.onnx
	$(BIN)/phatnguoi train plates --init-onnx runs/reader_stage3.onnx --n 16000 --seed 11 --epochs 4 --lr 3e-4 --out runs/plate_stage4
	$(BIN)/phatnguoi train plates --init-onnx "$$(ls runs/plate_stage4/checkpoints/*/best.onnx | head -1)" --out runs/plate_stage5 && $(BIN)/phatnguoi train plates --init-onnx "$$(ls runs/plate_stage5/checkpoints/*/best.onnx | head -1)" --n 16000 --seed 31 --epochs 3 --lr 2e-4 --out runs/plate_stage7
	$(BIN)/phatnguoi train plates --init-onnx "$$(ls runs/plate_stage7/checkpoints/*/best.onnx | head -1)" --n 24000 --seed 51 --epochs 3 --lr 2e-4 --out runs/plate_stage9
	$(BIN)/phatnguoi train plates --init-onnx "$$(ls runs/plate_stage9/checkpoints/*/best.onnx | head -1)" --n 24000 --seed 61 --epochs 3 --lr 2e-4 --out runs/plate_stage10
	$(BIN)/phatnguoi train plates --init-onnx "$$(ls runs/plate_stage10/checkpoints/*/best.onnx | head -1)" --n 24000 --seed 71 --epochs 3 --lr 2e-4 --out runs/plate_stage11
	$(BIN)/phatnguoi train plates --init-onnx "$$(ls runs/plate_stage11/checkpoints/*/best.onnx | head -1)" --n 64000 --seed 161 --epochs 4 --lr 3e-4 --out runs/plate_stage16
	$(BIN)/phatnguoi train plates --init-onnx "$$(ls runs/plate_stage16/checkpoints/*/best.onnx | head -1)" --n 48000 --seed 201 --epochs 4 --lr 2e-4 --keep-init 0.5 --out runs/plate_stage20
	$(BIN)/phatnguoi train plates --init-onnx "$$(ls runs/plate_stage20/checkpoints/*/best.onnx | head -1)" --n 48000 --seed 231 --epochs 4 --lr 2e-4 --keep-init 0.5 --out runs/plate_stage23
	$(BIN)/phatnguoi train plates --init-onnx "$$(ls runs/plate_stage23/checkpoints/*/best.onnx | head -1)" --n 48000 --seed 241 --epochs 4 --lr 2e-4 --keep-init 0.5 --out runs/plate_stage24
	$(BIN)/phatnguoi train plates --init-onnx "$$(ls runs/plate_stage24/checkpoints/*/best.onnx | head -1)" --n 48000 --seed 251 --epochs 4 --lr 2e-4 --keep-init 0.5 --out runs/plate_stage25
	$(BIN)/phatnguoi train plates --init-onnx "$$(ls runs/plate_stage25/checkpoints/*/best.onnx | head -1)" --n 64000 --seed 271 --epochs 4 --lr 2e-4 --keep-init 0.5 --two-letter-p 0.35 --out runs/plate_stage27
	$(BIN)/phatnguoi train plates --init-onnx "$$(ls runs/plate_stage27/checkpoints/*/best.onnx | head -1)" --n 48000 --seed 281 --epochs 4 --lr 2e-4 --keep-init 0.5 --two-letter-p 0.35 --out runs/plate_stage29 --install

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy ingest detection cases notices phatnguoi

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
