# alumnipass — the two commands a newcomer needs are `make run` and `make test`.
GO            ?= go
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN           ?= bin/alumnipass
IMAGE         ?= alumnipass:dev
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
export ALUMNIPASS_DATA_DIR ?= ./data

.PHONY: run reset-demo build test test-short bench lint fmt docker clean fuzz

## run: start on the embedded SQLite with demo data (first start prints URLs and credentials;
## later starts print how to sign in again)
run:
	$(GO) run ./cmd/alumnipass serve --seed

## reset-demo: delete the demo's database, key and outbox in ./data and start a new demo
## (new passwords; refuses on a data dir the demo did not make, and on PostgreSQL)
reset-demo:
	$(GO) run ./cmd/alumnipass serve --seed --reset

# The demo's letters and e-mails are signed by a sample company.
run reset-demo: export ALUMNIPASS_COMPANY_NAME ?= サンプル株式会社
run reset-demo: export ALUMNIPASS_COMPANY_NAME_EN ?= Sample Corporation

## build: a static binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN) ./cmd/alumnipass

## test: the whole suite, race detector on, both databases, browser tests; then the
## front-end modules' own tests (TOTP, device key, offline decision) with Node's test runner
test:
	$(GO) test -race -count=1 -timeout 60m ./...
	node --test static/js/

## bench: load tests against real servers on PostgreSQL and SQLite, plus the micro-benchmarks
## of internal/credential and internal/csvimport, into one report (see docs/benchmarks.md)
bench:
	$(GO) run ./cmd/apbench -out docs/benchmarks-latest.md

## lint: gofmt, go vet, staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## fuzz: run every fuzz target for FUZZTIME (default 2m)
FUZZTIME ?= 2m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/credential/
	$(GO) test -run '^$$' -fuzz '^FuzzMutatedCodeNeverVerifies$$' -fuzztime $(FUZZTIME) ./internal/credential/
	$(GO) test -run '^$$' -fuzz '^FuzzAPI$$' -fuzztime $(FUZZTIME) ./cmd/alumnipass/
	$(GO) test -run '^$$' -fuzz '^FuzzCodeBody$$' -fuzztime $(FUZZTIME) ./internal/web/api/

## docker: build the container image (needs a Docker engine)
docker:
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

clean:
	rm -rf bin data
