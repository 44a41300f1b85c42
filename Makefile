# mdeactions — see README.md. The two commands a new user needs:
#   make demo   run the TUI against the built-in Defender API simulator
#   make test   vet and run every test (the terminal test needs tmux)

GO      ?= go
BIN     ?= bin/mdeactions
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build demo test e2e bench lint fuzz install clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

demo: build
	./$(BIN) --demo

test:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# The real-terminal test alone (tmux drives the demo).
e2e:
	$(GO) test -count=1 -run 'TestTmux' -v .

# Go benchmarks (timing lives here, never in tests), printed as one table
# with the budgets of issue #6 and written to BENCHMARKS.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./... | $(GO) run ./ui/internal/benchtable | tee BENCHMARKS.md

lint:
	gofmt -l .
	$(GO) vet ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzClean -fuzztime 20s ./mde/textsafe

install:
	$(GO) install -ldflags "$(LDFLAGS)" .

clean:
	rm -rf bin
