#!/usr/bin/env bash
# Downloads the upstream schemas that synthesis validates against, for machines without the
# shared copies: the Kubernetes OpenAPI v3 documents (release branches 1.33 and 1.35) and the
# CRD files named in cdk8s.yaml. Usage: download-schemas.sh <folder>
set -euo pipefail
target=${1:?usage: download-schemas.sh <folder>}
k8s_files=(api__v1_openapi.json apis__apps__v1_openapi.json apis__batch__v1_openapi.json
  apis__autoscaling__v2_openapi.json apis__policy__v1_openapi.json apis__networking.k8s.io__v1_openapi.json
  apis__rbac.authorization.k8s.io__v1_openapi.json apis__scheduling.k8s.io__v1_openapi.json
  apis__storage.k8s.io__v1_openapi.json apis__apiextensions.k8s.io__v1_openapi.json)
tmp=$(mktemp -d "${target%/}.download.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for version in 1.33 1.35; do
  mkdir -p "$tmp/k8s-openapi/$version"
  for file in "${k8s_files[@]}"; do
    curl -fsSL --retry 3 -o "$tmp/k8s-openapi/$version/$file" \
      "https://raw.githubusercontent.com/kubernetes/kubernetes/release-$version/api/openapi-spec/v3/$file"
  done
done
mkdir -p "$tmp/crds"
# The imports listed in cdk8s.yaml: "prefix:=url".
grep -E '^\s*- [a-z-]+:=https://' cdk8s.yaml | sed -E 's/^\s*- //' | while IFS= read -r entry; do
  prefix=${entry%%:=*}
  curl -fsSL --retry 3 -o "$tmp/crds/$prefix.yaml" "${entry#*:=}"
done
rm -rf "$target" && mkdir -p "$(dirname "$target")" && mv "$tmp" "$target"
trap - EXIT
echo "schemas downloaded to $target (k8s-openapi/1.33, k8s-openapi/1.35, crds/)"
