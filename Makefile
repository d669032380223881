# provider-vdi. `make help` lists the targets.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

export GOTOOLCHAIN := local
TOOLS_DIR ?= $(CURDIR)/.cache/tools
TOOLS_BIN := $(TOOLS_DIR)/bin
OUTPUT    := $(CURDIR)/_output
STATE     := $(CURDIR)/.work
CROSSPLANE := $(TOOLS_BIN)/crossplane
export TOOLS_DIR

##@ General

help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

tools: ## Install runc, debootstrap and Chromium (apt-get), then build the pinned control plane, real node, Traefik, Crossplane core and CLI, kwok, crane and the node's images into .cache/tools (once).
	@cluster/tools/setup.sh
	@cluster/tools/build.sh

generate: ## Regenerate deepcopy, managed-resource method sets and CRDs.
	@cd apis && go generate -tags generate ./...
	@cd internal/function/input && go generate -tags generate ./...

check-generate: generate ## Fail if `make generate` changes anything.
	@if [[ -n "$$(git status --porcelain -- apis package internal/function/input)" ]]; then \
	  git status --porcelain -- apis package internal/function/input; git --no-pager diff --stat; \
	  echo "generated files are stale: run 'make generate' and commit"; exit 1; fi
	@echo "generate: generated files are current"

build: ## Build the provider and function binaries into _output/bin.
	@go build -o $(OUTPUT)/bin/provider ./cmd/provider
	@go build -o $(OUTPUT)/bin/function ./cmd/function

lint: ## Run golangci-lint (built from a pinned module on first use).
	@cluster/tools/build.sh golangci-lint
	@$(TOOLS_BIN)/golangci-lint run --build-tags integration,e2e,render,bench ./...

reviewable: generate lint test ## Everything a change should pass before review.

##@ Tests

test: tools unit integration render e2e ## Unit, integration (real apiserver), render (real crossplane) and end-to-end tests.
	@echo "test: all suites passed"

unit: ## Unit tests, with the fuzz seed corpus, under the race detector.
	@go test -race -count=1 ./...

integration: tools ## Provider integration tests on a real etcd, kube-apiserver and kube-controller-manager.
	@go test -count=1 -tags integration -timeout 20m ./internal/controlplane/... ./test/integration/... -v 2>&1 | grep -Ev '^=== (RUN|PAUSE|CONT)'

e2e: tools ## End to end: a local control plane with Crossplane core and our installed packages (internal/localenv).
	@go test -count=1 -tags e2e -timeout 30m ./test/e2e/... -v 2>&1 | grep -Ev '^=== (RUN|PAUSE|CONT)'

bench: ## Benchmarks (not tests): the function in process, its proto floor, and over gRPC.
	@$(MAKE) --no-print-directory bench-function

bench-e2e: tools ## End-to-end benchmark (≈35 min here): bursts, steady arrival, cost, idle, teardown, beside the floor and the peers; writes docs/benchmarks.md. Knobs: see test/bench/e2e/main.go.
	@cluster/tools/build.sh provider-kubernetes
	@go run -tags bench ./test/bench/e2e

##@ Run

run: tools ## A local control plane with Crossplane, our packages installed a Running GPU session on a fake node and a web desktop on the real node, behind its signed link; `make down` stops it.
	@go run ./cluster/local up --state $(STATE) --tools $(TOOLS_DIR)

down: ## Stop everything `make run` started, by PID.
	@go run ./cluster/local down --state $(STATE)

-include mk/*.mk

.PHONY: help tools generate check-generate build lint reviewable test unit integration e2e bench bench-e2e run down
