#!/usr/bin/env bash
# The README's demo, end to end on embedded defaults:
#   a private containerd (installed from Debian when missing), a local Rekor v2 log, the
#   Go toolchain image built locally and deterministically, a generated demo key, then
#   slsabox build examples/hello-go  ->  slsabox-out/hello-go/{hello,build.log,provenance.sigstore.json,sbom.sigstore.json}
# logged to the local log, and the bundle checked offline by cosign (scripts/tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# banner TITLE: a bold heading for each step of the demo.
banner() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

banner "private containerd"
scripts/containerd.sh start
SLSABOX_CONTAINERD=$(scripts/containerd.sh address)
export SLSABOX_CONTAINERD

banner "local transparency log (Rekor v2)"
scripts/rekor.sh start
rekor_url=$(scripts/rekor.sh url)
trusted_root=$(scripts/rekor.sh trusted-root)

banner "builder image (Go 1.26.8 toolchain, built locally; same bytes on every machine)"
scripts/images/go-toolchain.sh .cache/images

banner "slsabox"
CGO_ENABLED=0 go build -trimpath -o bin/slsabox ./cmd/slsabox
bin/slsabox version

if [[ ! -f .cache/demo.key ]]; then
  banner "demo signing key"
  bin/slsabox keygen --out .cache/demo
fi

banner "slsabox build examples/hello-go"
bin/slsabox build examples/hello-go -o slsabox-out/hello-go --key .cache/demo.key --rekor-url "$rekor_url" \
  --builder-id https://slsabox.dev/builders/demo/v1

banner "the artifact runs"
slsabox-out/hello-go/hello -name slsabox

banner "what the provenance says"
python3 - slsabox-out/hello-go/provenance.sigstore.json <<'PY' || true
import base64, json, sys
b = json.load(open(sys.argv[1]))
st = json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))
p = st["predicate"]
print("subject:      ", ", ".join(f'{s["name"]} sha256:{s["digest"]["sha256"][:16]}...' for s in st["subject"]))
print("builder.id:   ", p["runDetails"]["builder"]["id"])
for d in p["buildDefinition"]["resolvedDependencies"]:
    print("dependency:   ", d["uri"], json.dumps(d["digest"]))
print("sandbox:      ", json.dumps(p["buildDefinition"]["internalParameters"]["sandbox"]))
for e in b["verificationMaterial"].get("tlogEntries", []):
    print("log entry:    ", "index", e.get("logIndex", "0"), e["kindVersion"]["kind"], e["kindVersion"]["version"])
PY

banner "slsabox verify: what a consumer runs on the downloaded artifact (offline)"
# The source URI the consumer expects: this clone's origin, as slsabox records it.
origin=$(git remote get-url origin 2>/dev/null || true)
case $origin in
  "") source_uri="git+file://$PWD" ;;
  git@*:*) host=${origin#git@}; source_uri="git+https://${host%%:*}/${host#*:}"; source_uri=${source_uri%.git} ;;
  file://*) source_uri="git+$origin" ;;
  *://*) source_uri="git+${origin%.git}" ;;
  # A local path, relative to the repository root (the directory we are in); a
  # path keeps its .git: repo.git and repo are two directories.
  *) source_uri="git+file://$(realpath -m -s "$origin")" ;;
esac
bin/slsabox verify slsabox-out/hello-go/hello --bundle slsabox-out/hello-go/provenance.sigstore.json \
  --sbom slsabox-out/hello-go/sbom.sigstore.json \
  --key .cache/demo.pub --trusted-root "$trusted_root" \
  --builder-id https://slsabox.dev/builders/demo/v1 --source-uri "$source_uri" --require-hermetic

banner "slsabox sbom show: the signed SBOM of the same artifact (verified above)"
bin/slsabox sbom show slsabox-out/hello-go/sbom.sigstore.json

cosign=$(command -v cosign || echo "$(go env GOPATH)/bin/cosign")
if [[ -x $cosign ]]; then
  banner "cosign, an independent verifier, checks signature, log proof and subject offline"
  "$cosign" verify-blob-attestation --key .cache/demo.pub --bundle slsabox-out/hello-go/provenance.sigstore.json \
    --trusted-root "$trusted_root" --type slsaprovenance1 slsabox-out/hello-go/hello
else
  banner "to check the bundle with cosign: scripts/tools.sh, then"
  echo "cosign verify-blob-attestation --key .cache/demo.pub --bundle slsabox-out/hello-go/provenance.sigstore.json --trusted-root $trusted_root --type slsaprovenance1 slsabox-out/hello-go/hello"
fi

banner "slsabox verify on what others built: npm's sigstore@2.1.0, by its sha512, against Sigstore's public-good root"
# A real npm provenance bundle (from public test data, attest/verify/testdata/public):
# GitHub's build type, signed keylessly through Sigstore's public-good instance.
# --offline: the public-good root built into slsabox, nothing fetched.
public=attest/verify/testdata/public
env -u SLSABOX_TRUSTED_ROOT bin/slsabox verify "$public/sigstore-js-2.1.0.tgz" --bundle "$public/sigstore-js-2.1.0-bundle.json" --offline \
  --certificate-identity https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main \
  --certificate-oidc-issuer https://token.actions.githubusercontent.com \
  --builder-id https://github.com/actions/runner/github-hosted \
  --build-type https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1 \
  --source-uri git+https://github.com/sigstore/sigstore-js --source-ref refs/heads/main 2>&1
