# Developer and CI entry points. `make deps` installs everything a fresh
# Debian 12 machine lacks; .ci/run calls it, so the install logic lives here only.

BUF_VERSION                := v1.50.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2

# go install puts the tools in GOBIN; put it first on PATH for every recipe.
GOBIN := $(or $(shell go env GOBIN),$(shell go env GOPATH)/bin)
export GOBIN
export PATH := $(GOBIN):$(PATH)

# Overridable to test the detection: make deps PG_LIBDIR=/nonexistent APT_GET='echo apt-get'
PG_LIBDIR ?= /usr/lib/postgresql
APT_GET   ?= apt-get

ARGS ?=

.PHONY: deps tools postgres test run generate lint bench storm storm-outside soak build

deps: tools postgres

# $(call go_tool,binary,package,version): go install unless GOBIN has that version.
define go_tool
	@if [ "$$($(GOBIN)/$(1) --version 2>/dev/null | awk '{print $$NF}' | sed 's/^v//')" = "$(3:v%=%)" ]; then \
		echo "deps: $(1) $(3) already in $(GOBIN)"; \
	else \
		echo "deps: go install $(2)@$(3)"; \
		go install $(2)@$(3); \
	fi
endef

tools:
	$(call go_tool,buf,github.com/bufbuild/buf/cmd/buf,$(BUF_VERSION))
	$(call go_tool,protoc-gen-go,google.golang.org/protobuf/cmd/protoc-gen-go,$(PROTOC_GEN_GO_VERSION))
	$(call go_tool,protoc-gen-go-grpc,google.golang.org/grpc/cmd/protoc-gen-go-grpc,$(PROTOC_GEN_GO_GRPC_VERSION))

# The tests start their own PostgreSQL: they need initdb and postgres on PATH
# or in $(PG_LIBDIR)/*/bin, and ledger-bench needs pgbench (postgresql-client).
postgres:
	@have() { command -v "$$1" >/dev/null 2>&1 || ls $(PG_LIBDIR)/*/bin/"$$1" >/dev/null 2>&1; }; \
	if have initdb && have postgres && have pgbench; then \
		echo "deps: PostgreSQL server and pgbench found"; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "deps: PostgreSQL server (initdb, postgres, pgbench) not found, and not root: skipping apt-get." >&2; \
		echo "deps: install it yourself: sudo apt-get install -y postgresql" >&2; \
	else \
		echo "deps: PostgreSQL server not found: apt-get install -y postgresql"; \
		$(APT_GET) update && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y postgresql; \
	fi

test: deps
	go test -race -count=1 -timeout 30m ./...

run: deps
	go run ./cmd/ledgerd $(ARGS)

generate: tools
	buf generate

lint: tools
	go vet ./...
	buf lint

bench: deps
	go run ./cmd/ledger-bench $(ARGS)

storm: deps
	go run ./cmd/ledger-storm $(ARGS)

# The storm measured from outside: ledgerd in its own process, real promo
# database work, a control flood (docs/bulkheads.md).
storm-outside: deps
	go build -o bin/ ./cmd/ledgerd ./cmd/ledger-storm
	bin/ledger-storm --outside --ledgerd bin/ledgerd $(ARGS)

soak: deps
	go run ./cmd/ledger-soak $(ARGS)

build:
	go build -o bin/ ./cmd/ledgerd ./cmd/ledgerctl ./cmd/ledger-storm ./cmd/ledger-bench ./cmd/ledger-soak
