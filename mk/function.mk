# function-vdi and the configuration package. Included by the Makefile.

FUNCTION_BENCH_COUNT ?= 5

##@ Function

function-test: ## Only the function: its unit tests with the fuzz seed corpus, then `make render`.
	@go test -count=1 ./internal/function/... ./cmd/function/...
	@$(MAKE) --no-print-directory render

render: ## Render golden tests through the real Crossplane CLIs v2.5 and v2.2 and core (`make test` runs these; the function's unit tests run in `make unit`).
	@go test -count=1 -tags render ./test/render/...

render-update: ## Re-render every example under examples/sessions and rewrite its goldens: expected.yaml (CLI v2.5) and expected-v2.2.yaml (CLI v2.2).
	@go test -count=1 -tags render ./test/render/... -update
	@git --no-pager diff --stat -- examples/sessions

bench-function: ## Benchmark RunFunction in process, beside its proto floor, and over loopback gRPC.
	@go test -run '^$$' -bench 'BenchmarkRunFunction' -benchmem -count $(FUNCTION_BENCH_COUNT) ./internal/function/

.PHONY: function-test render render-update bench-function
