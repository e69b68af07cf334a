# memsnap — see README.md. `make demo` and `make test` are the two set-up commands.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
ECHARTS := report/templates/vendor/echarts/echarts.min.js
FUZZTIME ?= 3m
SMOKE_FUZZTIME ?= 300x

.PHONY: all build echarts demo test unit race vet tidy-check crossbuild fuzz fuzz-smoke lab lab-clean bench \
        samples samples-004 samples-from-lab docs chromium clean e2e e2e-clean \
        plugin plugin-collectors release bench-plugin

all: build

$(ECHARTS):
	bash report/templates/fetch-echarts.sh

echarts: $(ECHARTS)

# Every binary lands in bin/.
build: $(ECHARTS)
	@mkdir -p bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/memsnap ./analyzer/cmd/memsnap
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/memsnap-collect ./collector-script
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/memsnap-gen ./tools/memsnap-gen
	$(MAKE) --no-print-directory plugin

# The kubectl plugin embeds the static collectors (node mode streams them into
# a pod), so they are rebuilt right before it, never taken stale from disk.
PLUGIN_ARCHES := amd64 arm64
plugin-collectors:
	@mkdir -p plugin/collectors
	for a in $(PLUGIN_ARCHES); do CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
		-o plugin/collectors/memsnap-collect-linux-$$a ./collector-script || exit 1; done

# The plugin's release: dist/kubectl-memsnap_<os>_<arch>.tar.gz for linux, darwin
# and windows × amd64 and arm64, dist/checksums.txt, and the krew manifest
# deploy/krew/memsnap.yaml with its sha256 values filled from the archives.
release: $(ECHARTS)
	PLUGIN_TAGS=$(PLUGIN_TAGS) bash scripts/release.sh $(VERSION)

# kustomize_disable_go_plugin_support: cli-runtime's genericclioptions pulls in
# kustomize, whose Go-plugin loader imports the standard "plugin" package; a
# binary linking it exports every symbol and keeps every exported method
# (kubectl builds with the same tag). Without it the plugin is 94 MB, with it 76.
PLUGIN_TAGS := kustomize_disable_go_plugin_support
plugin: $(ECHARTS) plugin-collectors
	@mkdir -p bin
	$(GO) build -trimpath -tags $(PLUGIN_TAGS) -ldflags '$(LDFLAGS)' -o bin/kubectl-memsnap ./analyzer/cmd/kubectl-memsnap

# Analyse every sample bundle, and the ticket samples (loose files), into one HTML report.
demo: build
	bin/memsnap analyze -o memsnap-report.html $(patsubst %/manifest.json,%,$(sort $(wildcard samples/*/manifest.json))) $(sort $(wildcard samples/ticket-*))
	@echo "wrote memsnap-report.html"

# Everything CI checks: vet, unit + golden + browser tests, the scenario lab, the race detector
# (skips only with MEMSNAP_LAB=skip), cross builds, generated docs, fuzz smoke, and the e2e
# test bed with a real Kubernetes (skips only with MEMSNAP_E2E=skip).
test: build chromium vet tidy-check crossbuild docs-check unit race fuzz-smoke e2e

chromium:
	bash report/scripts/ensure-chromium.sh

vet:
	$(GO) vet ./...

# go.mod must say which dependencies are direct: a tidy that would change
# it fails the run.
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

unit: build
	$(GO) test -count=1 -timeout 30m ./...

# The race detector over the code that runs goroutines: the analyzer's
# bundles at once (--jobs), the collector's sources under their timeouts.
race:
	$(GO) test -race -count=1 -timeout 20m ./analyzer/internal/analysis/ ./collector-script/ ./plugin/

# The analyzer is read on laptops: it must build for darwin and windows too;
# the collector for linux/arm64 (64 KiB-page kernels).
crossbuild: $(ECHARTS)
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./analyzer/cmd/memsnap
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./analyzer/cmd/memsnap
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -o /dev/null ./collector-script

docs: build
	bin/memsnap rules --format markdown > docs/rules.md

docs-check: build
	@bin/memsnap rules --format markdown | diff -u docs/rules.md - || { echo "docs/rules.md is stale: run make docs"; exit 1; }

# A count, not a duration: with a short -fuzztime Go's fuzzer can end on
# "context deadline exceeded" while a worker is busy, which is noise, not a bug.
fuzz-smoke:
	FUZZTIME=$(SMOKE_FUZZTIME) bash scripts/fuzz.sh

fuzz:
	FUZZTIME=$(FUZZTIME) FUZZLOG=1 bash scripts/fuzz.sh

lab: build
	bash scripts/lab-deps.sh
	$(GO) test -count=1 -timeout 20m -v ./lab/...

lab-clean:
	$(GO) run ./lab/cmd/lab-clean

# The e2e test bed (docs/e2e.md): a real kube-apiserver with embedded etcd, TLS kubelet
# stand-ins and a real kubelet with containerd, in namespaces the test creates. e2e/ is its
# own module (k8s.io/kubernetes v1.37.2); its binaries are built into e2e/.work/bin by the
# test itself (the first build takes 10-20 min on 2 cores, then the Go build cache holds it).
E2E_TIMEOUT ?= 60m
e2e: $(ECHARTS)
	bash e2e/scripts/ensure-runtime.sh
	@cd e2e && $(GO) mod tidy -diff || { echo "e2e/go.mod/go.sum are not tidy: run cd e2e && go mod tidy"; exit 1; }
	cd e2e && $(GO) vet ./...
	cd e2e && $(GO) test -count=1 -timeout $(E2E_TIMEOUT) -v $(if $(E2E_RUN),-run '$(E2E_RUN)') .

# Leftovers of interrupted e2e runs: cgroups and run directories of runs whose process is gone.
e2e-clean:
	cd e2e && $(GO) run ./cmd/e2e-clean

# Go benchmarks, then the side-by-side CPU/RSS comparison against tar on
# generated nodes (MEMSNAP_BENCH_SIZES, MEMSNAP_BENCH_RUNS), and 100 nodes in
# one report (MEMSNAP_BENCH_CLUSTER, 0 skips it); see docs/performance.md.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./bundle/ ./analyzer/internal/cgroup/ ./analyzer/internal/promtext/ ./analyzer/internal/agentlog/ ./analyzer/internal/oomlog/ ./internal/redact/
	MEMSNAP_BENCH_CLUSTER=$${MEMSNAP_BENCH_CLUSTER:-100} bash scripts/bench.sh
	$(GO) test -run '^$$' -bench WatchSample -benchtime 40x -count 5 ./collector-script/
	bash scripts/bench-watch.sh
	$(MAKE) --no-print-directory bench-plugin

# kubectl-memsnap at scale on the e2e bed (root): 100 stand-in nodes of 50 pods in API
# mode through the real kube-apiserver; wall time, the plugin's peak RSS, API requests.
bench-plugin: $(ECHARTS)
	bash e2e/scripts/ensure-runtime.sh
	cd e2e && $(GO) test -count=1 -timeout 60m -run '^$$' -bench 'BenchmarkPluginAPIMode100Nodes' -benchtime 5x -v .

samples:
	$(GO) run ./samples/internal/gen -o samples

samples-004:
	bash samples/scripts/make-sample-004.sh

# Bundles from real kernel runs of the lab, beside the seed samples.
samples-from-lab: build
	MEMSNAP_LAB_SAMPLES=$(CURDIR)/samples $(GO) test -count=1 -run TestLab -v ./lab/

clean:
	rm -rf bin memsnap-report.* test-artifacts
