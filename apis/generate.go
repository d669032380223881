//go:build generate

// Remove generated CRDs so that deleted kinds do not linger.
//go:generate rm -rf ../package/crds

// Deepcopy method sets and CRDs. VDITemplate ships in the provider package
// beside the managed resources.
//go:generate go tool controller-gen object:headerFile=../hack/boilerplate.go.txt paths=./... crd:crdVersions=v1 output:artifacts:config=../package/crds

// crossplane-runtime method sets (resource.Managed, ProviderConfig, usages).
//go:generate go tool angryjet generate-methodsets --header-file=../hack/boilerplate.go.txt ./...

// Package apis contains the provider's API types and drives their code
// generation.
package apis
