# The two commands a newcomer needs are `make run` and `make test`.
GO ?= go
BIN := bin/freshrepos

.PHONY: build test test-go vet fmt-check run demo bench loadtest instructions fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/freshrepos

# Everything, on a fresh machine: Debian's chromium for the web page's
# browser test (installed once, as root), a real MinIO (built once, cached),
# go vet, gofmt, and every test under the race detector.
test:
	./scripts/install-chromium.sh
	./scripts/with-minio.sh $(MAKE) --no-print-directory fmt-check vet test-go

# The second run covers the connections' raw system calls, which race
# builds leave out.
test-go:
	$(GO) test -race -count=1 -timeout=12m ./...
	$(GO) test -count=1 -run 'Conn|Timeout' ./edge/

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The service on http://localhost:5000 over ./data, asking the live GitHub
# API (GITHUB_TOKEN optional). Without network it says so, keeps retrying,
# and keeps serving what was last published.
run: build
	./$(BIN) serve

# The same, offline: the built-in fake GitHub in synthetic mode publishes a
# new snapshot every 10 seconds.
demo: build
	STORE=$${STORE:-file:./data-demo} ./$(BIN) serve --demo

# Every Go benchmark with -benchmem, in a form benchstat reads.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=$${COUNT:-5} ./... | tee bench.txt

# One edge against nginx sending the same bytes, on one pinned CPU each in
# turn, driven by wrk from the other (installs nginx and wrk when missing,
# as root); then the scale and publisher benchmarks. docs/PERFORMANCE.md
# explains the figures; RUNS, DURATION, N, SCENARIOS, SCALE=0, PUBLISHER=0
# are its knobs (see scripts/loadtest.sh).
loadtest:
	./scripts/loadtest.sh

# The instructions the edge's handler executes per request, counted by
# callgrind: steady where timings on a shared VM are not (installs
# valgrind when missing, as root). OLD=rev compares with that revision.
instructions:
	./scripts/instructions.sh

# Run the query parser's fuzz target (its corpus runs in every make test).
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$${FUZZTIME:-3m} ./filters/

clean:
	rm -rf bin data-demo bench.txt
