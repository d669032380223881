#!/usr/bin/env bash
# Builds the pinned real components that the tests and `make run` use, from the
# wrapper modules beside this script, into a git-ignored cache. Each binary is
# rebuilt only when its wrapper's go.mod or go.sum, or how it is built
# (ldflags, packages), changes, so a warm run is a few hash checks.
#
#   cluster/tools/build.sh [TOOL ...]     TOOL: etcd kube crossplane crossplane-crds cli cli-v2.2 kwok kwok-stages crane traefik golangci-lint provider-kubernetes
#
# TOOLS_DIR (default .cache/tools) receives bin/<binary> and a stamp per tool.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
tools_dir=${TOOLS_DIR:-$root/.cache/tools}
bin=$tools_dir/bin
mkdir -p "$bin" "$tools_dir/stamps"

# The checksum database does not answer for every module we pin; the wrapper
# go.sum files are committed, so builds verify against them instead.
export GOFLAGS="${GOFLAGS:-} -mod=readonly"
export GOTOOLCHAIN=local

kube_ver=v1.35.4
kube_ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=$kube_ver \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=35 \
 -X k8s.io/client-go/pkg/version.gitVersion=$kube_ver \
 -X k8s.io/client-go/pkg/version.gitMajor=1 \
 -X k8s.io/client-go/pkg/version.gitMinor=35"

# build TOOL LDFLAGS OUT=PKG ...
build() {
  local tool=$1 ldflags=$2; shift 2
  local stamp="$tools_dir/stamps/$tool" want have=""
  want=$( (cat "$here/$tool/go.mod" "$here/$tool/go.sum"; echo "$ldflags" "$@") | sha256sum | cut -d' ' -f1)
  [[ -f $stamp ]] && have=$(cat "$stamp")
  local missing=0 spec
  for spec in "$@"; do [[ -x $bin/${spec%%=*} ]] || missing=1; done
  if [[ $want == "$have" && $missing == 0 ]]; then
    echo "tools: $tool is up to date"
    return
  fi
  for spec in "$@"; do
    local out=${spec%%=*} pkg=${spec#*=} start=$SECONDS
    echo "tools: building $out from $pkg (a cold build can take minutes)"
    (cd "$here/$tool" && go build -ldflags "$ldflags" -o "$bin/$out" "$pkg")
    echo "tools: built $out in $((SECONDS - start))s"
  done
  echo "$want" > "$stamp"
}

# traefik: nothing is built; the IngressRoute and friends' CRDs that the
# module ships are copied to crds/traefik.yaml.
traefik() {
  local out=$tools_dir/crds/traefik.yaml
  if [[ -s $out ]]; then echo "tools: traefik CRDs are up to date"; return; fi
  mkdir -p "$tools_dir/crds"
  local dir
  dir=$(cd "$here/traefik" && go mod download github.com/traefik/traefik/v3 && go list -m -f '{{.Dir}}' github.com/traefik/traefik/v3)
  cp "$dir/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml" "$out"
  chmod 644 "$out"
  echo "tools: copied Traefik's CRDs to $out"
}

# kwok-stages: the node and pod lifecycle stages kwok ships in its module,
# copied to kwok/ for the control plane to pass to kwok.
kwok_stages() {
  local out=$tools_dir/kwok
  if [[ -s $out/pod-ready.yaml ]]; then echo "tools: kwok stages are up to date"; return; fi
  mkdir -p "$out"
  local dir
  dir=$(cd "$here/kwok" && go mod download sigs.k8s.io/kwok && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
  cp "$dir"/kustomize/stage/node/fast/node-initialize.yaml \
     "$dir"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
     "$dir"/kustomize/stage/pod/fast/pod-*.yaml "$out/"
  chmod 644 "$out"/*.yaml
  echo "tools: copied kwok's stages to $out"
}

# crossplane-crds: core's own CRDs, which `crossplane core init` installs
# from CRDS_PATH, copied from the core module to crossplane-crds/.
crossplane_crds() {
  local out=$tools_dir/crossplane-crds
  if [[ -s $out/pkg.crossplane.io_providers.yaml ]]; then echo "tools: Crossplane's CRDs are up to date"; return; fi
  mkdir -p "$out"
  local dir
  dir=$(cd "$here/crossplane" && go mod download github.com/crossplane/crossplane/v2 && go list -m -f '{{.Dir}}' github.com/crossplane/crossplane/v2)
  cp "$dir"/cluster/crds/*.yaml "$out/"
  chmod 644 "$out"/*.yaml
  echo "tools: copied Crossplane's CRDs to $out"
}

# provider-kubernetes-crds: the CRDs of the peer provider-kubernetes.
provider_kubernetes_crds() {
  local out=$tools_dir/provider-kubernetes-crds
  if [[ -s $out/kubernetes.m.crossplane.io_objects.yaml ]]; then echo "tools: provider-kubernetes CRDs are up to date"; return; fi
  mkdir -p "$out"
  local dir
  dir=$(cd "$here/provider-kubernetes" && go list -m -f '{{.Dir}}' github.com/crossplane-contrib/provider-kubernetes)
  cp "$dir"/package/crds/*.yaml "$out/"
  chmod 644 "$out"/*.yaml
  echo "tools: copied provider-kubernetes' CRDs to $out"
}

all=(etcd kube crossplane crossplane-crds cli cli-v2.2 kwok kwok-stages crane traefik)
for tool in "${@:-${all[@]}}"; do
  case $tool in
    etcd) build etcd "-s -w" etcd=go.etcd.io/etcd/server/v3 ;;
    kube) build kube "$kube_ldflags" \
      kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
      kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
      kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler \
      kubectl=k8s.io/kubernetes/cmd/kubectl ;;
    # `crossplane rbac start` sets no metrics address, so controller-runtime
    # would serve its metrics on :8080 of this machine; default it to off
    # (core sets its own from METRICS_PORT).
    crossplane) build crossplane "-s -w -X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=v2.4.0 \
 -X sigs.k8s.io/controller-runtime/pkg/metrics/server.DefaultBindAddress=0" \
      crossplane-core=github.com/crossplane/crossplane/v2/cmd/crossplane ;;
    cli) build cli "-s -w -X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=v2.5.0" \
      crossplane=github.com/crossplane/cli/v2/cmd/crossplane ;;
    # The last CLI whose render is `crossplane render` (v2.0-v2.2), for the
    # render tests of users on those versions.
    cli-v2.2) build cli-v2.2 "-s -w -X github.com/crossplane/crossplane/v2/internal/version.version=v2.2.1" \
      crossplane-v2.2=github.com/crossplane/crossplane/v2/cmd/crank ;;
    kwok) build kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v0.7.0 -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$kube_ver" \
      kwok=sigs.k8s.io/kwok/cmd/kwok ;;
    crane) build crane "-s -w" crane=github.com/google/go-containerregistry/cmd/crane ;;
    traefik) traefik ;;
    kwok-stages) kwok_stages ;;
    crossplane-crds) crossplane_crds ;;
    golangci-lint) build golangci-lint "-s -w" golangci-lint=github.com/golangci/golangci-lint/v2/cmd/golangci-lint ;;
    # The peer that `make bench-e2e` measures against; its CRDs are copied
    # from the module to provider-kubernetes-crds/.
    provider-kubernetes) build provider-kubernetes "-s -w" provider-kubernetes=github.com/crossplane-contrib/provider-kubernetes/cmd/provider
      provider_kubernetes_crds ;;
    *) echo "tools: unknown tool $tool (want one of ${all[*]})" >&2; exit 2 ;;
  esac
done
