# Thin wrappers over the scripts, so `make test` and `./scripts/test` are the same thing.
#   make test [ARGS="./lake/... -run X"]   tests against throwaway PostgreSQL + Redis (scripts/test)
#   make build                            bin/strata
#   make lint                             gofmt, go vet, staticcheck (scripts/lint)
#   make run [ARGS="serve --help"]         build, then run bin/strata (default: serve)
#   make ci                               what CI runs (.ci/run: installs packages, lints, tests)

GO   ?= go
TAGS := duckdb_arrow
# `strata version` shows these; a plain `go build` falls back to Go's VCS stamp, or "dev"/"unknown".
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

.PHONY: test build lint run ci pg-env clean

test:
	./scripts/test $(ARGS)

build:
	$(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o bin/strata ./cmd/strata

lint:
	./scripts/lint

run: build
	./bin/strata $(or $(ARGS),serve)

ci:
	bash .ci/run

# Starts PostgreSQL + Redis in the background; prints the export lines (or: eval "$$(./scripts/pg-env)").
pg-env:
	./scripts/pg-env

clean:
	rm -rf bin
