# slsabox: the two commands of the README, and the ones developers use.
#   make demo   build examples/hello-go end to end on a private containerd
#   make test   the whole test suite (what CI runs)
#   make bench  benchmarks against peers, side by side, and under load (bench/load)

GO ?= go

.PHONY: demo test bench build images clean

# bin/sigstore-kms-*: the KMS plugins that --key awskms://... (gcpkms, azurekms, hashivault)
# runs from PATH; slsabox itself links no cloud SDK.
# bin/slsabox-verify: the verify-only build of slsabox (-tags slsabox_verifyonly), the
# consumer's verifier: it links no builder and no containerd, and starts faster.
# CGO_ENABLED=0, as for releases: a static binary starts faster (no dynamic loader,
# no libc) and uses Go's own DNS resolver and user lookup.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ ./cmd/slsabox ./cmd/sigstore-kms-awskms ./cmd/sigstore-kms-gcpkms \
		./cmd/sigstore-kms-azurekms ./cmd/sigstore-kms-hashivault
	CGO_ENABLED=0 $(GO) build -trimpath -tags slsabox_verifyonly -o bin/slsabox-verify ./cmd/slsabox
	chmod go-w bin bin/slsabox bin/slsabox-verify bin/sigstore-kms-*  # slsabox runs a KMS plugin only if no one else can write it

demo:
	scripts/demo.sh

test:
	scripts/test.sh

bench:
	scripts/bench.sh

# debian-c comes from Debian's archive, which moves: examples/c-make is re-pinned to
# the image built here (git diff shows it). The Go-only images are the same everywhere.
images:
	scripts/images/go-toolchain.sh .cache/images
	scripts/images/testbox.sh .cache/images
	scripts/images/pin.sh "$$(scripts/images/debian-c.sh .cache/images)" examples/c-make/slsabox.yaml

clean:
	rm -rf bin slsabox-out slsabox-out.*
