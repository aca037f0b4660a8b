# Two commands on a fresh machine:  make demo  |  make test
# Both bootstrap .venv with the machine's python3 (3.11+) and install what they need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NV_CLIP := ../shared/data/nvasr/dev/nonverbalspeech38k/laughing/2_laughing.flac

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "paravox needs Python 3.11+; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/paravox models --prepare > /dev/null
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@echo "== paravox transcribe samples/demo.flac (tagged transcript)"
	@$(BIN)/paravox transcribe samples/demo.flac -q
	@echo "== paravox events samples/demo.flac (what the event models hear, without the transcript)"
	@$(BIN)/paravox events samples/demo.flac -q
	@echo "== paravox analyze samples/demo.flac -f srt"
	@$(BIN)/paravox analyze samples/demo.flac -f srt -q
	@echo "== paravox emotion samples/demo.flac --granularity segment (emotion over time)"
	@$(BIN)/paravox emotion samples/demo.flac --granularity segment -q
	@$(BIN)/paravox analyze samples/demo.flac -f json -q -o out/demo.json
	@echo "== full result (segments, words with times, events, emotion): out/demo.json"
	@if [ -f $(NV_CLIP) ]; then \
	  echo "== a real tagged clip from the data pack beside the clone ($(NV_CLIP))"; \
	  $(BIN)/paravox transcribe $(NV_CLIP) -q; \
	  $(BIN)/paravox events $(NV_CLIP) -q; \
	fi

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/transcribe_speed.py
	$(BIN)/python benchmarks/asr_accuracy.py --set nvasr-dev

clean:
	rm -rf $(VENV) out build *.egg-info
