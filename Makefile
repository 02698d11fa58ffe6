GO ?= go
STATICCHECK_VERSION ?= v0.8.2
# netfox's version, of --version and the User-Agent: the tag or commit
# the tree is at; a go build or go install without it falls back to the
# build information (cmd/netfox/cmdline.go: buildVersion).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build test demo vet lint fuzz bench clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/netfox ./cmd/netfox

# The whole test suite, with the race detector. A test that needs nginx or
# vsftpd fails when it is missing (NETFOX_REQUIRE_SERVERS=1); a bare
# `go test ./...` skips such tests with a message instead.
test: build lint
	NETFOX_REQUIRE_SERVERS=1 $(GO) test -race -count=1 -timeout 15m ./...

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
