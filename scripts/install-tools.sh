#!/usr/bin/env bash
# The real tools the tests run: kube-apiserver and kubectl (with kustomize), etcd, kubeconform,
# actionlint, the Flux CLI, promtool, postgres_exporter and redis_exporter, and pieces of
# CloudNativePG's instance manager (tools/go/cloudnative-pg-instance/main.go, built on the
# operator's module); and a Python virtualenv with the packages of tools/python/requirements.txt.
# Each is built from the Go module of its own under tools/go/<name>/, whose go.mod pins the
# version and whose go.sum pins the checksums, into .tools/go/bin/ (ignored). A build is reused
# while its module files (and its own Go files) and the Go version are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1; then
  echo "Go is required to build the tools the tests run (kube-apiserver, etcd, kubectl, kubeconform)." >&2
  echo "Install Go 1.24 or later (https://go.dev/doc/install, or: sudo apt-get install -y golang), then run make test again." >&2
  exit 1
fi

BIN=$PWD/.tools/go/bin
mkdir -p "$BIN"
go_version=$(go env GOVERSION)

for module in tools/go/*/; do
  name=$(basename "$module")
  stamp="$BIN/.$name.stamp"
  # shellcheck disable=SC2046 # the module's own Go files, if any, one word each
  want=$(cat "$module/go.mod" "$module/go.sum" $(find "$module" -maxdepth 1 -name '*.go' | sort) | sha256sum | cut -d' ' -f1)-$go_version
  # The `tool` lines of its go.mod; a binary is named after its package (etcd's package path ends
  # in a major version, /v3: its binary is named after the module's folder).
  tools=$(cd "$module" && go mod edit -json | tr -d '\n ' | grep -o '"Tool":\[[^]]*\]' | grep -o '"Path":"[^"]*"' | cut -d'"' -f4 || true)
  binaries=()
  for tool in $tools; do
    binary=$(basename "$tool")
    [[ $binary =~ ^v[0-9]+$ ]] && binary=$name
    binaries+=("$binary")
  done
  # A module without `tool` lines is a program of its own (main.go), named after its folder.
  if [ -z "$tools" ] && [ -f "$module/main.go" ]; then
    tools=.
    binaries=("$name")
  fi
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && (cd "$BIN" && ls "${binaries[@]}" >/dev/null 2>&1); then
    continue
  fi
  ldflags="-s -w"
  if [ "$name" = kubernetes ]; then
    # The version the binaries report (`kubectl version`, the API server's /version).
    version=$(cd "$module" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
    minor=${version#v1.}
    ldflags+=" -X k8s.io/component-base/version.gitVersion=$version"
    ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*}"
  fi
  echo "building ${binaries[*]} (tools/go/$name) into .tools/go/bin: the first time takes minutes"
  if [ "$name" = flux ]; then
    # cmd/flux embeds the install manifests (manifests/*.yaml), which Flux's release build
    # generates and its Go module does not hold: build a copy of the module (the version and
    # checksum go.mod and go.sum pin) with a placeholder there. `flux install` and `flux
    # bootstrap` have nothing to install in this build; `flux build` and `flux diff` are whole.
    version=$(cd "$module" && go list -m -f '{{.Version}}' github.com/fluxcd/flux2/v2)
    source=$(cd "$module" && go mod download -json "github.com/fluxcd/flux2/v2@$version" | grep -o '"Dir": *"[^"]*"' | cut -d'"' -f4)
    copy=$PWD/.tools/go/src/flux2
    rm -rf "$copy" && mkdir -p "$(dirname "$copy")" && cp -R "$source" "$copy" && chmod -R u+w "$copy"
    mkdir -p "$copy/cmd/flux/manifests"
    echo "# The install manifests are not part of this build." >"$copy/cmd/flux/manifests/placeholder.yaml"
    (cd "$copy" && go build -mod=readonly -trimpath -ldflags "$ldflags -X main.VERSION=${version#v}" -o "$BIN/flux" ./cmd/flux)
    rm -rf "$copy"
    echo "$want" >"$stamp"
    continue
  fi
  set -- $tools
  for binary in "${binaries[@]}"; do
    (cd "$module" && go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$BIN/$binary" "$1")
    shift
  done
  echo "$want" >"$stamp"
done

# The Python packages: a virtualenv in .tools/python (ignored), from PyPI at the pinned versions
# of tools/python/requirements.txt (every dependency listed, so --no-deps), reused while the file
# and the Python version are unchanged.
PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "Python 3.10 or later is required for the tests' Python packages (tools/python/requirements.txt)." >&2
  exit 1
fi
VENV=$PWD/.tools/python
stamp="$VENV/.requirements.stamp"
want=$(sha256sum tools/python/requirements.txt | cut -d' ' -f1)-$("$PYTHON" -c 'import sys; print(sys.version.split()[0])')
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x "$VENV/bin/python" ]; then
  echo "installing tools/python/requirements.txt into .tools/python"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --require-virtualenv -r tools/python/requirements.txt
  echo "$want" >"$stamp"
fi
