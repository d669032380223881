# function-vdi and the configuration package. Included by the Makefile.

FUNCTION_BENCH_COUNT ?= 5

##@ Function

function-test: ## Only the function: its unit tests with the fuzz seed corpus, then `make render`.
	@go test -count=1 ./internal/function/... ./cmd/function/...
	@$(MAKE) --no-print-directory render

render: ## Render golden tests through the real Crossplane CLI and core (`make test` runs these; the function's unit tests run in `make unit`).
	@go test -count=1 -tags render ./test/render/...

render-update: ## Re-render every example under examples/sessions and rewrite its expected.yaml.
	@go test -count=1 -tags render ./test/render/... -update
	@git --no-pager diff --stat -- examples/sessions

bench-function: ## Benchmark RunFunction in process, beside its proto floor, and over loopback gRPC.
	@go test -run '^$$' -bench 'BenchmarkRunFunction' -benchmem -count $(FUNCTION_BENCH_COUNT) ./internal/function/

# The provider's package root, package/, holds the function's and the
# configuration's roots as subfolders; xpkg build walks them all, so the
# provider build ignores them (--ignore takes files, not folders).
PROVIDER_PKG_IGNORE := function/*,function/*/*,configuration/*

packages: ## Build the provider, function and configuration packages into _output/ with crossplane xpkg build.
	@mkdir -p $(OUTPUT)
	@$(CROSSPLANE) xpkg build --package-root=package --ignore='$(PROVIDER_PKG_IGNORE)' --examples-root=examples/provider -o $(OUTPUT)/provider-vdi.xpkg
	@$(CROSSPLANE) xpkg build --package-root=package/function --examples-root=package/function/examples -o $(OUTPUT)/function-vdi.xpkg
	@$(CROSSPLANE) xpkg build --package-root=package/configuration --examples-root=examples/sessions -o $(OUTPUT)/configuration-vdi.xpkg
	@ls -l $(OUTPUT)/*.xpkg

.PHONY: function-test render render-update bench-function packages
