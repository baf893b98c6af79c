# cotrain: two commands on a fresh Debian machine with Go —
#   make demo   installs what the demo needs, builds cotrain and runs the
#               embedded default experiment end to end (results in runs/demo)
#   make test   runs the tests
# Other targets: build, gpu (the binary for a GPU machine), bench, vet.

GO      ?= go
BIN     := bin/cotrain
FMNIST  := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test build gpu bench vet deps services

demo: deps build
	$(BIN) demo

test: deps services
	$(GO) vet ./...
	$(GO) test -timeout 30m ./...

build:
	$(GO) build -o $(BIN) ./cmd/cotrain

# The same binary drives a GPU through XLA (PJRT): it is built here with cgo
# and copied as is to a machine with an NVIDIA GPU and a PJRT CUDA plugin
# (see "cotrain doctor" there).
gpu:
	CGO_ENABLED=1 $(GO) build -o bin/cotrain-linux-amd64 ./cmd/cotrain

# Side-by-side speed against PyTorch (Debian's python3-torch) on this machine.
bench: build
	$(BIN) bench train --arch vgg19bn --input 64 --batch 32
	$(BIN) bench forward --arch vgg19bn --input 64 --batch 32

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

# Fashion-MNIST comes from Debian's dataset-fashion-mnist package.
deps: $(FMNIST)

$(FMNIST):
	$(SUDO) apt-get update
	$(SUDO) apt-get install -y dataset-fashion-mnist

# The tests of cotrain's cluster support start real services in temporary
# folders on localhost (internal/servicetest): PostgreSQL, a one-node Slurm
# (slurmctld, slurmd, munged) and headless Chromium for the dashboard.
# Installing them takes about 20 s on a Debian machine that lacks them.
SERVICE_PKGS := postgresql slurm-wlm munge chromium

services:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! [ -x /usr/sbin/slurmctld ] || ! [ -x /usr/sbin/slurmd ] \
		|| ! [ -x /usr/sbin/munged ] || ! [ -x /usr/bin/chromium ]; then \
		echo "installing $(SERVICE_PKGS) for the tests"; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $(SERVICE_PKGS); \
	fi
