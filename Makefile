# Thin wrappers over the scripts, so `make test` and `./scripts/test` are the same thing.
#   make test [ARGS="./lake/... -run X"]   tests against throwaway PostgreSQL + Redis (scripts/test)
#   make build                            bin/strata
#   make lint                             gofmt, go vet, staticcheck (scripts/lint)
#   make run [ARGS="serve --help"]         build, then run bin/strata (default: serve)
#   make ci                               what CI runs (.ci/run: installs packages, lints, tests)

GO   ?= go
TAGS := duckdb_arrow

.PHONY: test build lint run ci pg-env clean

test:
	./scripts/test $(ARGS)

build:
	$(GO) build -tags $(TAGS) -o bin/strata ./cmd/strata

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
