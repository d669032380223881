//go:build generate

// Deepcopy methods of the input types and the input CRD, which ships in the
// function package.
//go:generate go tool controller-gen object:headerFile=../../../hack/boilerplate.go.txt paths=./... crd:crdVersions=v1 output:artifacts:config=../../../package/function/input

// Package input drives the code generation of function-vdi's input types.
package input
