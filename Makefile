GO ?= go
STATICCHECK_VERSION ?= v0.8.2
# netfox's version, of --version and the User-Agent: the tag or commit
# the tree is at; a go build or go install without it falls back to the
# build information (cmd/netfox/cmdline.go: buildVersion).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build test test-linux test-race test-long test-quiet test-windows demo vet lint fuzz bench clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/netfox ./cmd/netfox

# The whole test suite, with the race detector. A test that needs nginx or
# vsftpd fails when it is missing (NETFOX_REQUIRE_SERVERS=1); a bare
# `go test ./...` skips such tests with a message instead.
#
# make test runs in two phases. The busy one runs at once (each output in
# one piece as it ends, make -O): the lint, the race-detector run of all
# but QUIET, its longest test, and the Windows lane but for segment. Most
# tests wait on rate-capped servers, not the CPU, so they share 2 cores
# well. The quiet phase then runs QUIET one package at a time, with
# nothing beside them: the tests that time connections or measure
# throughput, which beside a busy machine would measure its load
# (segment's slow connections, under Wine too; -n auto's knee; bytes
# served twice; a starved connection replaced, a slow probe hedged).
# About 5 minutes instead of 10 (notes of issue 27).
test: build
	$(MAKE) --no-print-directory -j 4 -O lint test-race test-long test-windows WINE_PKGS='$(WINE_BUSY)'
	$(MAKE) --no-print-directory test-quiet

# The Linux lane alone: build, lint, then every test with the race detector.
test-linux: build lint test-race test-long
	$(MAKE) --no-print-directory test-quiet WINE_QUIET=

# Tests that run in parallel (t.Parallel) wait on servers more than on the
# CPU: -parallel 4 runs 4 at once in a package, not GOMAXPROCS (2).
# atexit_sleep_ms=0: a race-detector binary otherwise sleeps 1 s when it
# exits (ThreadSanitizer's default), and the tests run netfox hundreds of
# times. Races are reported as before (a test fails, netfox exits 66);
# only goroutines still running after main returned get no last second.
# LONG is the longest test (100 kill -9 one after the other, over a
# minute): run apart, it starts at once instead of wherever go test's
# parallel tests happen to give it its turn.
GORACE ?= atexit_sleep_ms=0
export GORACE
RACE_TEST = NETFOX_REQUIRE_SERVERS=1 $(GO) test -race -count=1 -timeout 15m -parallel 4
LONG = ^TestKillNineAndResume$$
QUIET_PKGS = ./segment
# QUIET_NAMES: -n auto's knee; the root's speed tests; cmd/netfox's tests
# that measure a rate, want no connection replaced, or count requests and
# bytes that a probe hedged after 250 ms would add (their "Not parallel"
# comments).
QUIET_NAMES = TestAutoSettlesAtLinkCapacity|TestAutoPerMirror|TestSlowConnectionsDoNotHoldUp|TestPoliteOnOverload|TestLimitRate|TestEachByteOnce|$(QUIET_CLI)
QUIET_CLI = TestJSONEvents|TestViewInTmux|TestBarsInTmux|TestInterruptAndResume|TestSummaryReplacedOnlyWhenSo|TestJSONProgressRate|TestPlainProgressOffTerminal|TestTrustRedirects|TestTrustReadBounds|TestTrustAlreadyCompleteNeedsOrigin|TestContinueLeavesOtherFiles|TestContinueWithoutValidators|TestRerunAfterSuccess|TestBatchRerun|TestSilentConnections
QUIET_TESTS = ^($(QUIET_NAMES))$$
# The packages that hold them, wherever they move (test-race skips them by name).
QUIET_TESTS_IN = $$(grep -rlE --include='*_test.go' '^func ($(QUIET_NAMES))\(' . | xargs -n1 dirname | sort -u)
test-race:
	$(RACE_TEST) -skip '$(QUIET_TESTS)|$(LONG)' $$($(GO) list ./... | grep -v -x -F "$$($(GO) list $(QUIET_PKGS))")
test-long:
	$(RACE_TEST) -run '$(LONG)' ./cmd/netfox
WINE_QUIET = $(MAKE) --no-print-directory test-windows WINE_PKGS='$(QUIET_PKGS)' WINDOWS_E2E=
test-quiet:
	$(RACE_TEST) -p 1 $(QUIET_PKGS)
	$(RACE_TEST) -p 1 -run '$(QUIET_TESTS)' $(QUIET_TESTS_IN)
	$(WINE_QUIET)

# The Windows lane: the Windows build under Wine (scripts/wine.sh), its unit
# tests where they need no Unix server, and the end-to-end cases of
# TestWindows (a Linux test driving netfox.exe against nginx). serve's rate
# tests time transfers, which Wine's slower sockets make noisy; the Linux
# lane runs them.
WINE_PKGS = ./internal/engine ./segment ./siteinfo ./state ./fileaccess ./serve ./byterange ./retry \
	./internal/units ./internal/safetext ./internal/netrc ./internal/syserr
WINE_BUSY = $(filter-out $(QUIET_PKGS),$(WINE_PKGS))
WINDOWS_E2E = ^TestWindows$$
test-windows:
	scripts/wine.sh setup
	scripts/wine.sh server
	GOOS=windows GOARCH=amd64 $(GO) test -count=1 -timeout 10m -exec "$(CURDIR)/scripts/wine.sh exec" -skip '^TestRate(PerConn|Total)$$' $(WINE_PKGS) \
	  && { [ -z '$(WINDOWS_E2E)' ] || NETFOX_WINE="$(CURDIR)/scripts/wine.sh" NETFOX_REQUIRE_SERVERS=1 $(GO) test -count=1 -timeout 10m -run '$(WINDOWS_E2E)' ./cmd/netfox; }; \
	  status=$$?; scripts/wine.sh stop; exit $$status

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	GOOS=windows $(GO) vet ./...

lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

demo: build
	NETFOX=bin/netfox bash scripts/demo.sh

FUZZTIME ?= 60s
fuzz:
	$(GO) test ./byterange -run '^$$' -fuzz '^FuzzParseContentRange$$' -fuzztime $(FUZZTIME)
	$(GO) test ./byterange -run '^$$' -fuzz '^FuzzSplit$$' -fuzztime $(FUZZTIME)
	$(GO) test ./siteinfo -run '^$$' -fuzz '^FuzzFilename$$' -fuzztime $(FUZZTIME)
	$(GO) test ./siteinfo -run '^$$' -fuzz '^FuzzParseRetryAfter$$' -fuzztime $(FUZZTIME)
	$(GO) test ./state -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/netrc -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./segment ./state ./fileaccess

clean:
	rm -rf bin
