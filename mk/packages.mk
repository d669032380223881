# The three Crossplane packages, with runtime images. Included by the Makefile.

# VERSION defaults to `git describe --tags --always --dirty` (v0.0.0-<n>-g<commit>
# before the first tag); REGISTRY is the registry host, packages go to
# $(REGISTRY)/provider-vdi/<package>.
VERSION  ?=
REGISTRY ?= ghcr.io
PACKAGES_ARGS = --out $(OUTPUT) --crossplane $(CROSSPLANE) --registry $(REGISTRY) $(if $(VERSION),--version $(VERSION))

##@ Packages

packages: ## Build provider-vdi, function-vdi (each with linux/amd64 and linux/arm64 runtime images), configuration-vdi and the gate's image into _output/.
	@cluster/tools/build.sh cli
	@go run ./cluster/packages build $(PACKAGES_ARGS)
	@ls -l $(OUTPUT)/*.xpkg

publish: ## Build and push the three packages and the gate's image to $(REGISTRY)/provider-vdi/<name>:$(VERSION), each multi-platform.
	@cluster/tools/build.sh cli
	@go run ./cluster/packages publish $(PACKAGES_ARGS)

.PHONY: packages publish
