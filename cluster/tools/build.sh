#!/usr/bin/env bash
# Builds the pinned real components that the tests and `make run` use, from the
# wrapper modules beside this script, into a git-ignored cache. Each binary is
# rebuilt only when its wrapper's go.mod or go.sum, or how it is built
# (ldflags, packages), changes, so a warm run is a few hash checks.
#
#   cluster/tools/build.sh [TOOL ...]     TOOL: etcd kube containerd cni crossplane crossplane-crds cli cli-v2.2 kwok kwok-stages crane traefik traefik-crds desktop-rootfs images golangci-lint provider-kubernetes
#
# TOOLS_DIR (default .cache/tools) receives bin/<binary> and a stamp per tool.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
tools_dir=${TOOLS_DIR:-$root/.cache/tools}
bin=$tools_dir/bin
mkdir -p "$bin/cni" "$tools_dir/stamps"

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

# [CGO_ENABLED=0] [tags=TAGS] build TOOL LDFLAGS OUT=PKG ...
build() {
  local tool=$1 ldflags=$2; shift 2
  local stamp="$tools_dir/stamps/$tool" want have=""
  # CGO_ENABLED and tags count only when set, so that the stamps of the
  # tools built without them keep their value.
  local how=()
  [[ -n ${CGO_ENABLED:-} ]] && how+=("CGO_ENABLED=$CGO_ENABLED")
  [[ -n ${tags:-} ]] && how+=("tags=$tags")
  want=$( (cat "$here/$tool/go.mod" "$here/$tool/go.sum"; echo "$ldflags" "$@" "${how[@]}") | sha256sum | cut -d' ' -f1)
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
    (cd "$here/$tool" && go build -tags "${tags:-}" -ldflags "$ldflags" -o "$bin/$out" "$pkg")
    echo "tools: built $out in $((SECONDS - start))s"
  done
  echo "$want" > "$stamp"
}

# traefik-crds: the IngressRoute and friends' CRDs, and the ClusterRole of
# the Kubernetes CRD provider, that the Traefik module ships, copied to
# crds/traefik.yaml and crds/traefik-rbac.yaml.
traefik_crds() {
  local out=$tools_dir/crds/traefik.yaml rbac=$tools_dir/crds/traefik-rbac.yaml
  if [[ -s $out && -s $rbac ]]; then echo "tools: traefik CRDs are up to date"; return; fi
  mkdir -p "$tools_dir/crds"
  local dir
  dir=$(cd "$here/traefik" && go mod download github.com/traefik/traefik/v3 && go list -m -f '{{.Dir}}' github.com/traefik/traefik/v3)
  cp "$dir/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml" "$out"
  cp "$dir/docs/content/reference/dynamic-configuration/kubernetes-crd-rbac.yml" "$rbac"
  chmod 644 "$out" "$rbac"
  echo "tools: copied Traefik's CRDs and RBAC to $tools_dir/crds"
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

# desktop-rootfs: a minimal Debian bookworm root file system with a web
# desktop (Xvfb, openbox, xterm, x11vnc, noVNC and websockify), made with
# debootstrap (setup.sh installs it; it runs as root and reaches Debian's
# mirror), without documentation or apt's caches. cluster/images turns it
# into the desktop image of the real node.
desktop_packages=xvfb,x11vnc,novnc,websockify,openbox,xterm,xfonts-base,python3-cffi-backend
desktop_rootfs() {
  local out=$tools_dir/desktop/rootfs stamp=$tools_dir/stamps/desktop-rootfs want have=""
  want=$(echo "bookworm minbase $desktop_packages $(declare -f desktop_rootfs)" | sha256sum | cut -d' ' -f1)
  [[ -f $stamp ]] && have=$(cat "$stamp")
  if [[ $want == "$have" && -x $out/usr/bin/Xvfb ]]; then echo "tools: desktop-rootfs is up to date"; return; fi
  if [[ $(id -u) != 0 ]]; then echo "tools: desktop-rootfs needs root (debootstrap)" >&2; exit 1; fi
  local tmp=$tools_dir/desktop/rootfs.tmp start=$SECONDS
  rm -rf "$tmp"; mkdir -p "$tmp"
  echo "tools: debootstrap bookworm with $desktop_packages (about two minutes)"
  debootstrap --variant=minbase --include="$desktop_packages" bookworm "$tmp" http://deb.debian.org/debian > "$tools_dir/desktop/debootstrap.log" 2>&1 \
    || { echo "tools: debootstrap failed; see $tools_dir/desktop/debootstrap.log" >&2; exit 1; }
  # The desktop runs as uid 1000; xterm and the shell want it named.
  echo 'desktop:x:1000:1000:desktop:/home/desktop:/bin/bash' >> "$tmp/etc/passwd"
  echo 'desktop:x:1000:' >> "$tmp/etc/group"
  rm -rf "$tmp"/usr/share/{doc,man,info,lintian,linda} "$tmp"/var/cache/apt/* "$tmp"/var/lib/apt/lists/* \
    "$tmp"/var/cache/debconf/*-old "$tmp"/var/log/* "$tmp"/tmp/* "$tmp"/dev/*
  find "$tmp"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'en*' -exec rm -rf {} +
  rm -rf "$out"; mv "$tmp" "$out"
  echo "$want" > "$stamp"
  echo "tools: built desktop-rootfs ($(du -sh "$out" | cut -f1)) in $((SECONDS - start))s"
}

all=(etcd kube containerd cni crossplane crossplane-crds cli cli-v2.2 kwok kwok-stages crane traefik traefik-crds desktop-rootfs images)
tools=("${@:-${all[@]}}")
# debootstrap waits on Debian's mirror more than on the CPU: start it first,
# beside the compiles, and collect it in its turn.
rootfs_pid=""
if [[ " ${tools[*]} " == *" desktop-rootfs "* ]]; then
  mkdir -p "$tools_dir/desktop"
  desktop_rootfs > "$tools_dir/desktop/build.log" 2>&1 &
  rootfs_pid=$!
fi
for tool in "${tools[@]}"; do
  case $tool in
    etcd) build etcd "-s -w" etcd=go.etcd.io/etcd/server/v3 ;;
    kube) build kube "$kube_ldflags" \
      kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
      kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
      kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler \
      kubectl=k8s.io/kubernetes/cmd/kubectl \
      kubelet=k8s.io/kubernetes/cmd/kubelet ;;
    # The real node's runtime and pod network (runc is Debian's, see
    # setup.sh). Static, as containerd's own releases are.
    containerd) CGO_ENABLED=0 tags=no_btrfs build containerd "-s -w \
 -X github.com/containerd/containerd/v2/version.Version=v2.4.2 -X github.com/containerd/containerd/v2/version.Revision=provider-vdi" \
      containerd=github.com/containerd/containerd/v2/cmd/containerd \
      containerd-shim-runc-v2=github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 \
      ctr=github.com/containerd/containerd/v2/cmd/ctr ;;
    cni) CGO_ENABLED=0 build cni "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=v1.10.0" \
      cni/bridge=github.com/containernetworking/plugins/plugins/main/bridge \
      cni/host-local=github.com/containernetworking/plugins/plugins/ipam/host-local \
      cni/loopback=github.com/containernetworking/plugins/plugins/main/loopback \
      cni/portmap=github.com/containernetworking/plugins/plugins/meta/portmap ;;
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
    # Traefik's module has no built web UI, so it runs with
    # --api.dashboard=false.
    traefik) CGO_ENABLED=0 build traefik "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=v3.6.12" \
      traefik=github.com/traefik/traefik/v3/cmd/traefik ;;
    traefik-crds) traefik_crds ;;
    desktop-rootfs)
      rc=0; wait "$rootfs_pid" || rc=$?
      cat "$tools_dir/desktop/build.log"
      [[ $rc == 0 ]] || exit "$rc" ;;
    # The real node's pause and web desktop images (cluster/images), each
    # rebuilt only when what it is made of changes.
    # A fresh CI clone once failed here right after debootstrap with
    # "archive/tar: missed writing N bytes" (a file of the root file system
    # was shorter when read than when listed; which one, and why, is not
    # known), and passed when run again: try a second time, saying so.
    images) (cd "$root" && go run ./cluster/images --tools "$tools_dir") || {
      echo "tools: building the node's images failed; trying once more" >&2
      (cd "$root" && go run ./cluster/images --tools "$tools_dir"); } ;;
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
