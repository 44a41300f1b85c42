# mdeactions — see README.md. The two commands a new user needs:
#   make demo   run the TUI against the built-in Defender API simulator
#   make test   vet and run every test (the terminal test needs tmux)

GO      ?= go
BIN     ?= bin/mdeactions
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# staticcheck, pinned; fetched and built by the Go toolchain on first use.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build demo test e2e bench lint fuzz reliability install clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

demo: build
	./$(BIN) --demo

# gofmt, go vet, staticcheck, then every test with the race detector; the
# fuzz tests' seed corpora run as ordinary tests.
test: lint
	$(GO) test -race -count=1 ./...

# The real-terminal test alone (tmux drives the demo).
e2e:
	$(GO) test -count=1 -run 'TestTmux' -v .

# Go benchmarks (timing lives here, never in tests), printed as one table
# with the budgets of issue #6 and written to BENCHMARKS.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./... | $(GO) run ./ui/internal/benchtable | tee BENCHMARKS.md

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Each fuzz test for a while beyond its seed corpus (FUZZTIME each).
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzClean$$' -fuzztime $(FUZZTIME) ./mde/textsafe
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEntity$$' -fuzztime $(FUZZTIME) ./mde
	$(GO) test -run '^$$' -fuzz '^FuzzReadPage$$' -fuzztime $(FUZZTIME) ./mde
	$(GO) test -run '^$$' -fuzz '^FuzzQueryFilter$$' -fuzztime $(FUZZTIME) ./mde/mdesim
	$(GO) test -run '^$$' -fuzz '^FuzzCommentPrompt$$' -fuzztime $(FUZZTIME) ./ui/cancelform

# RELIABILITY.md's table, from the tests: each fault and hostile-input test
# records what it measured; the table is rendered from those rows.
RELIABILITY_TESTS ?= Fault|Hostile|Settle|Panic|TmuxExit|TmuxSIGTERM|TmuxDropped|CLIOutputs|Secrets|CleanRecorded|Injections|Paste100KB|LostAnswer|Hurry|Reread|FailedRefresh|RawControls|Formulas
reliability:
	@rows=$$(mktemp) && \
	MDEACTIONS_RELIABILITY=$$rows $(GO) test -count=1 -run '$(RELIABILITY_TESTS)' ./... && \
	$(GO) run ./mde/reliability/reltable $$rows RELIABILITY.md && rm -f $$rows

install:
	$(GO) install -ldflags "$(LDFLAGS)" .

clean:
	rm -rf bin
