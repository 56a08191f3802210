# The two commands a newcomer needs are `make run` and `make test`.
GO ?= go
BIN := bin/freshrepos

.PHONY: build test test-go vet fmt-check run demo bench fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/freshrepos

# Everything, on a fresh machine: a real MinIO (built once, cached), go vet,
# gofmt, and every test under the race detector.
test:
	./scripts/with-minio.sh $(MAKE) --no-print-directory fmt-check vet test-go

test-go:
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin
