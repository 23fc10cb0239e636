# The two commands of the README:
#   make run   install what is missing, build, start the all-in-one cloud
#   make test  install what is missing, run every test
GO ?= go
export PATH := /usr/local/go/bin:$(PATH)
# The go-ceph build tag of the installed Ceph release (storage/rbd), read
# when a recipe runs, after setup installed librbd-dev.
CEPH_TAG = $(shell ./scripts/cephtag)

.PHONY: run test setup build bench clean

run: build
	./bin/gostack -data-dir ./data -set compute.guest_image=true

test: setup
	./scripts/test

setup:
	./scripts/setup

build: setup
	$(GO) build -tags "$(CEPH_TAG)" -o bin/ ./cmd/...

# Benchmarks (not part of make test). See bench/README.md.
bench: setup
	./bench/store
	./bench/identity/run
	./bench/image/run
	./bench/dns/run
	./bench/network/run
	./bench/compute/run
	./bench/storage/run

clean:
	rm -rf bin
