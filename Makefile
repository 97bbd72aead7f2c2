# Sieve. `make run` starts the quickstart; `make test` runs every test.
GO      ?= go
BIN     := bin/sieve
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build run test test-race fuzz bench lint clean

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
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -count=1 -race -short -timeout 20m ./...

# Each fuzz target for a while (FUZZTIME=1m by default).
FUZZTIME ?= 1m
fuzz:
	$(GO) test ./pipeline -run '^$$' -fuzz FuzzDecodeMessage -fuzztime $(FUZZTIME)

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 2s ./pipeline ./classifiers
	./$(BIN) bench --classifier nop --messages 1000000 --batch 1024
	./$(BIN) bench --classifier rules --messages 1000000 --batch 1024

clean:
	rm -rf bin
