# prefect-cdk8s: `make synth` writes dist/, `make test` runs every test. Both work on a fresh
# clone: they install the locked npm dependencies first when those are missing or stale.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := synth
MAKEFLAGS += --no-print-directory

# One environment: `make synth ENV=prod` (or ENV=dev,prod).
ENV ?=
# Where the upstream CRD files are, for `make imports` (`make schemas` finds its sources itself).
CRDS_DIR ?= ../shared/crds
CDK8S := npx cdk8s --no-check-upgrade
SOURCES := main.ts $(shell find lib imports -name '*.ts' 2>/dev/null) package-lock.json
CRD_PREFIXES := istio cert-manager trust-manager flux-source flux-helm flux-kustomize external-secrets cloudnative-pg barman-cloud prometheus-operator keda

.PHONY: synth test tools typecheck lint format check-dist schema imports schemas bench diff clean deps

## deps: install the locked npm dependencies when missing or stale
deps: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# build/app.js is the bundled generator; build/main.js runs it from V8's code cache (lib/app/launcher.ts).
build/app.js: $(SOURCES) node_modules/.package-lock.json
	npx esbuild main.ts --bundle --platform=node --target=node20 --log-level=warning --outfile=$@

build/main.js: build/app.js lib/app/launcher.ts lib/core/code-cache.ts
	npx esbuild lib/app/launcher.ts --bundle --platform=node --target=node20 --log-level=warning --outfile=$@

# The cdk8s CLI's validation plugin (cdk8s.yaml): a configuration error ends `cdk8s synth` with status 2.
build/cdk8s-configuration-check.js: lib/app/cdk8s-configuration-check.ts node_modules/.package-lock.json
	npx esbuild lib/app/cdk8s-configuration-check.ts --bundle --platform=node --target=node20 --log-level=warning --outfile=$@

build/export-json-schema.js: scripts/export-json-schema.ts $(SOURCES) node_modules/.package-lock.json
	npx esbuild scripts/export-json-schema.ts --bundle --platform=node --target=node20 --log-level=warning --outfile=$@

## schema: config/schema.json from the zod schema (editors complete and check config files with it)
schema: build/export-json-schema.js
	@node build/export-json-schema.js config/schema.json

## synth: dist/<env>/ for every config/<env>.yaml (or ENV=name), atomically
synth: build/main.js schema
	@node build/main.js $(if $(ENV),--env $(ENV)) $(if $(filter 1,$(ALLOW_IMMUTABLE_CHANGES)),--allow-immutable-changes)

## tools: build the real tools the tests run (kube-apiserver, etcd, kubectl, kubeconform, actionlint) into .tools/go/bin
tools:
	@scripts/install-tools.sh

## test: format and lint check, type check, then every test (real PostgreSQL, redis-server, kube-apiserver included)
test: node_modules/.package-lock.json tools
	@scripts/ensure-test-servers.sh
	npx biome ci --colors=off .
	npx tsc -p .
	npx vitest run $(VITEST_ARGS)

## lint: the formatter's and the linter's verdict (Biome: formatting, recommended rules, no import cycle)
lint: node_modules/.package-lock.json
	npx biome ci --colors=off .

## format: format the whole tree and apply the linter's safe fixes
format: node_modules/.package-lock.json
	npx biome check --write .

typecheck: node_modules/.package-lock.json
	npx tsc -p .

## check-dist: fail when the committed dist/ or config/schema.json is not what the code generates
check-dist: synth
	@git diff --exit-code --stat -- dist config/schema.json || { echo "dist/ differs from what the code generates: run make synth and commit dist/"; exit 1; }
	@test -z "$$(git status --porcelain -- dist config/schema.json)" || { git status --short -- dist config/schema.json; echo "untracked files in dist/: run make synth and commit dist/"; exit 1; }

## imports: regenerate imports/ with `cdk8s import` from the CRD files in CRDS_DIR
# (`cdk8s import` with arguments appends them to cdk8s.yaml: keep the upstream list as it is.)
imports: node_modules/.package-lock.json
	rm -rf imports.new && mkdir imports.new && cp cdk8s.yaml .cdk8s.yaml.keep
	@trap 'mv .cdk8s.yaml.keep cdk8s.yaml' EXIT; for prefix in $(CRD_PREFIXES); do \
	  echo "cdk8s import $$prefix:=$(CRDS_DIR)/$$prefix.yaml"; \
	  $(CDK8S) import --language typescript --output imports.new "$$prefix:=$(CRDS_DIR)/$$prefix.yaml" >/dev/null; \
	done
	rm -rf imports && mv imports.new imports

## schemas: regenerate the schema bundle schemas/ from ../shared (or SCHEMA_SOURCES), else from its pinned URLs
schemas: node_modules/.package-lock.json
	npx tsx scripts/schemas.ts

## bench: median wall time and peak memory of synthesizing all environments and one
bench: build/main.js
	@node scripts/bench.cjs

## diff: what changed in dist/ since REV (default HEAD), per object and field
REV ?= HEAD
diff: node_modules/.package-lock.json
	@npx tsx scripts/dist-diff.ts $(REV)

clean:
	rm -rf build .cdk8s.out
