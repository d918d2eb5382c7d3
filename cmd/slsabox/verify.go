package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/spec"
	"github.com/slsabox/slsabox/attest/verify"
	"github.com/slsabox/slsabox/attest/verify/ociref"
	"github.com/slsabox/slsabox/internal/hint"
)

type verifyOptions struct {
	bundle          string
	sbom            string
	requireSBOM     bool
	trust           trustFlags
	digest          string
	policyFile      string
	policy          verify.Policy
	identity        identityFlags
	allowAnyBuilder bool
	allowAnySource  bool
	allowDirty      bool
	vsa             vsaFlags
}

// defaultVerifierID names slsabox verify as the verifier of the VSAs it writes;
// --vsa-verifier-id names the organisation that runs it instead.
const defaultVerifierID = "https://slsabox.dev/verifiers/slsabox-verify/v1"

func newVerifyCmd(g *globalOptions) *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use: "verify ARTIFACT... --bundle B --key K.pub --builder-id ID --source-uri URI",
		Example: `  slsabox verify hello --bundle out/provenance.sigstore.json --key K.pub --builder-id ID --source-uri URI
  slsabox verify oci://REGISTRY/REPO@sha256:HEX --key K.pub --builder-id ID --source-uri URI
  slsabox verify oci-layout:out/images/NAME@sha256:HEX --bundle out/provenance.sigstore.json --key K.pub ...`,
		Short: "Verify artifacts against their signed provenance (bundles checked offline)",
		Long: `verify checks that each ARTIFACT (or the --digest given) is a subject of the SLSA v1
provenance in the bundle, that the bundle is signed by --key and logged in the
transparency log that --trusted-root names (or, for a keyless bundle, by a Fulcio
certificate of the trusted root issued to --certificate-identity by
--certificate-oidc-issuer, at a time an RFC 3161 timestamp vouches for, its GitHub
workflow claims matching the --certificate-* flags and its repository and commit
equal to the provenance's source), and that the provenance meets the policy:
the builder id, the source URI and, when given, the source ref and commit, the build
type, the allowed builder images and a hermetic build. Nothing but the trust root (see
Trust) goes over the network.

The policy comes from flags or --policy FILE (YAML with the fields builderID, buildType,
sourceURI, sourceRef, sourceCommit, allowedImages, requireHermetic, builderLevel,
certificateIdentity (keyless: subjectAlternativeName or subjectAlternativeNameRegexp,
issuer, and the claims of the --certificate-* flags) and the opt-outs
allowAnyBuilderUnsafe, allowAnySourceUnsafe, allowDirtyUnsafe; unknown keys are
rejected); flags override the file, except that a --certificate-* flag naming another
identity than the file is an error. A keyless bundle needs a certificate identity. Every check is printed, one per line. A build of
uncommitted changes (slsabox build --allow-dirty) fails the "committed source" check
unless --allow-dirty-unsafe is given.

Other builders: GitHub artifact attestations, npm provenance and slsa-github-generator's
SLSA v1 builders verify by --build-type (theirs; the default is slsabox's) and their
keyless identity; the source is read where their build type records it
(externalParameters.workflow for GitHub's, else the git+ entry of resolvedDependencies)
and the report names where. A subject named by sha512 or sha384 (npm: sha512) is
matched by hashing ARTIFACT in that algorithm, or by --digest sha512:HEX. See
docs/verify.md, "Provenance from other builders".

Container images: an ARTIFACT oci://REGISTRY/REPO@sha256:HEX is an image by its
manifest (or index) digest; without --bundle, verify lists the OCI 1.1 referrers of the
digest (the referrers API, or the referrers tag schema sha256-HEX), fetches the
Sigstore bundles attached (artifactType application/vnd.dev.sigstore.bundle.v0.3+json),
and the image verifies when one of them passes every check; the others are printed as
FAILED with their reason. The subject matches by digest (its name is the image name
of slsabox.yaml, which --registry may have changed). A tag is refused: resolving it is
trust on first use, pin the digest. Plain HTTP goes only to registries on loopback;
credentials come from the Docker config. oci-layout:DIR@sha256:HEX is an image in a
local OCI layout, checked blob by blob first; its bundles are the referrers index.json
lists (cosign save), or --bundle (a layout slsabox build wrote holds none). An
unreachable registry exits 3; no bundle attached exits 1. See docs/verify.md,
"Container images".

Trust: --key is the builder's public key. The log's key comes from --trusted-root;
without it, Sigstore's public-good trusted root (rekor.sigstore.dev, fulcio.sigstore.dev)
is refreshed through TUF from https://tuf-repo-cdn.sigstore.dev, anchored in the TUF
root built into slsabox, and cached for a day in the user cache directory
(~/.cache/slsabox/tuf; env SLSABOX_TUF_CACHE): within the day nothing is fetched.
The refresh gives up after 3 s (a dead network after 0.3 s); then, or with --offline
(env SLSABOX_OFFLINE=1), which never touches the network, the cached root is used, else
the copy built into slsabox, and a warning (also in --output json, trustedRootWarning)
says which and why, except for a cached root under --offline, which was asked for: a
TUF verification failure (rollback, bad signature, hash mismatch, expired metadata) is
named as a possible attack. A private Sigstore instance: --tuf-mirror URL --tuf-root root.json
(env SLSABOX_TUF_MIRROR, SLSABOX_TUF_ROOT), as cosign initialize. A bundle logged to
another log (such as the local one of scripts/rekor.sh) needs that log's
--trusted-root. Only the trust root is fetched: bundles and artifacts are checked offline.

--vsa-out FILE --vsa-key KEY --vsa-resource-uri URI also write a signed Verification
Summary Attestation (https://slsa.dev/verification_summary/v1) as a DSSE envelope,
the file slsa-verifier verify-vsa reads: PASSED with SLSA_BUILD_LEVEL_N when every
artifact verified (N is 1, or --builder-level), otherwise FAILED. Every unsafe opt-out
used (--no-tlog-unsafe, --allow-any-builder-unsafe, --allow-any-source-unsafe,
--allow-dirty-unsafe) is recorded as a level SLSABOX_OPT_OUT_<NAME>, and with any of
them N is 1 (a policy opt-out with --builder-level 2 or 3 is refused). It is written, atomically,
whenever the checks ran (exit 0 or 1); on exit 2 or 3 the file is left as it was.

Exit codes: 0 verified; 1 verification failed; 2 bad input (flags, policy, bundle,
unreadable artifact); 3 environment.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runVerify(cmd, g, o, args) },
	}
	f := cmd.Flags()
	f.StringVar(&o.bundle, "bundle", "", "the Sigstore bundle holding the provenance (provenance.sigstore.json)")
	f.StringVar(&o.sbom, "sbom", "", "also verify this SBOM bundle (sbom.sigstore.json): signed and logged as the provenance, over the same subjects")
	f.BoolVar(&o.requireSBOM, "require-sbom", false, "fail unless an SBOM verifies: --sbom for files, an SBOM attached to each image for oci://")
	o.trust.register(f)
	f.StringVar(&o.digest, "digest", "", "verify this artifact digest instead of an ARTIFACT file: sha256:HEX, sha512:HEX (npm packages) or sha384:HEX; a bare HEX is a sha256")
	f.StringVar(&o.policyFile, "policy", "", "YAML policy file")
	f.StringVar(&o.policy.BuilderID, "builder-id", "", "the builder id you trust (required)")
	f.StringVar(&o.policy.SourceURI, "source-uri", "", "the source repository expected, e.g. git+https://github.com/OWNER/REPO (required)")
	f.StringVar(&o.policy.SourceRef, "source-ref", "", "the source ref expected, e.g. refs/heads/main")
	f.StringVar(&o.policy.SourceCommit, "source-commit", "", "the full source commit expected")
	f.StringVar(&o.policy.BuildType, "build-type", "", "the build type expected (default slsabox's, "+spec.BuildType+")")
	f.StringSliceVar(&o.policy.AllowedImages, "allowed-image", nil, "a builder image allowed, sha256:HEX or NAME@sha256:HEX (repeatable)")
	f.BoolVar(&o.policy.RequireHermetic, "require-hermetic", false, "require a slsabox sandbox without network")
	f.BoolVar(&o.allowAnyBuilder, "allow-any-builder-unsafe", false, "accept any builder id (unsafe)")
	f.BoolVar(&o.allowAnySource, "allow-any-source-unsafe", false, "accept any source repository (unsafe)")
	f.BoolVar(&o.allowDirty, "allow-dirty-unsafe", false, "accept a build of uncommitted changes (slsabox build --allow-dirty) (unsafe)")
	f.IntVar(&o.policy.BuilderLevel, "builder-level", 0, "the SLSA Build level (1-3) you trust this builder to meet, claimed in the report and VSA (default 1)")
	o.identity.register(f)
	o.vsa.register(f)
	return cmd
}

// artifactResult is one artifact's outcome, as --output json prints it. An image
// verified through its referrers has one per bundle attached, each naming it.
type artifactResult struct {
	Artifact string `json:"artifact"`
	// Bundle names the referrer the bundle came from (REGISTRY/REPO@sha256:HEX).
	Bundle string `json:"bundle,omitempty"`
	// Error says why a bundle could not be checked at all (a refused referrer, a
	// bundle that does not parse); its Report has no checks.
	Error string `json:"error,omitempty"`
	*verify.Report
}

func runVerify(cmd *cobra.Command, g *globalOptions, o *verifyOptions, args []string) error {
	stderr := cmd.ErrOrStderr()
	images, err := parseImageArgs(args)
	if err != nil {
		return err
	}
	if o.bundle == "" && len(images) > 0 {
		return runVerifyImages(cmd, g, o, args, images)
	}
	switch {
	case o.bundle == "":
		return usageError{errors.New("verify needs --bundle (or an image, oci://REGISTRY/REPO@sha256:HEX, whose attached bundles it finds)")}
	case len(args) == 0 && o.digest == "":
		return usageError{errors.New("verify needs an ARTIFACT or --digest ALG:HEX (sha256, sha384 or sha512)")}
	case len(args) > 0 && o.digest != "":
		return usageError{errors.New("--digest conflicts with ARTIFACT arguments")}
	case o.requireSBOM && o.sbom == "":
		return usageError{errors.New("--require-sbom needs --sbom SBOM_BUNDLE (OUT/sbom.sigstore.json) with --bundle")}
	}
	if err := o.vsa.check(); err != nil {
		return err
	}
	// The bundle and the artifacts are read while the policy and the trust material
	// are: the bundle first, since its subjects say which digests of the artifacts to
	// compute (sha256, or sha512 for npm packages).
	var (
		data      []byte
		b, sbom   *bundle.Bundle
		bundleErr error
	)
	digests := make([]struct {
		sum string
		err error
	}, len(args))
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		if data, bundleErr = os.ReadFile(o.bundle); bundleErr != nil {
			bundleErr = usageError{bundleErr}
			return
		}
		if b, bundleErr = attest.ParseBundle(data); bundleErr != nil {
			bundleErr = usageError{fmt.Errorf("%s: %w", o.bundle, bundleErr)}
			return
		}
		if o.sbom != "" {
			if sbom, bundleErr = readBundle(o.sbom); bundleErr != nil {
				return
			}
		}
		for i, a := range args {
			if ref, ok := images[i]; ok {
				// An image is named by its digest; a layout must hold it intact.
				if digests[i].sum = ref.Digest; ref.Layout {
					digests[i].err = ociref.CheckLayout(ref)
				}
				continue
			}
			digests[i].sum, digests[i].err = verify.FileDigestFor(a, b)
		}
	}()
	policy, v, vsaw, err := o.prepare(cmd, g)
	if err != nil {
		return err
	}
	<-hashed
	if bundleErr != nil {
		return bundleErr
	}
	type target struct{ name, digest string }
	var targets []target
	if o.digest != "" {
		targets = append(targets, target{o.digest, o.digest})
	}
	for i, a := range args {
		if ref, ok := images[i]; ok {
			if err := digests[i].err; err != nil {
				return hint.Wrap(err, "do not use the image: the layout does not hold what its digest names")
			}
			targets = append(targets, target{imageName(ref), digests[i].sum})
			continue
		}
		if err := digests[i].err; err != nil {
			return usageError{fmt.Errorf("reading artifact: %w", err)}
		}
		targets = append(targets, target{a, digests[i].sum})
	}

	var (
		results []artifactResult
		first   error
	)
	for _, t := range targets {
		p := policy
		p.Digest = t.digest
		r, err := v.Verify(b, p)
		if errors.Is(err, verify.ErrInvalidPolicy) {
			return hint.Wrap(err, "complete the policy as the error says: --builder-id, --source-uri, a digest (sha256:HEX, sha512:HEX or sha384:HEX) and, for a keyless bundle, --certificate-identity and --certificate-oidc-issuer (or a --policy file)")
		}
		results = append(results, artifactResult{Artifact: t.name, Report: r})
		if err != nil && first == nil {
			first = fmt.Errorf("verifying %s: %w", t.name, err)
		}
	}
	verified := true
	for _, r := range results {
		verified = verified && r.Verified
	}
	var sboms []artifactResult
	if sbom != nil {
		res, err := verifySBOM(v, policy, sbom, o.sbom, results)
		if errors.Is(err, verify.ErrInvalidPolicy) {
			return hint.Wrap(err, "complete the policy as the error says")
		}
		sboms = append(sboms, res)
		if err != nil {
			verified = false
			if first == nil {
				first = fmt.Errorf("verifying the SBOM %s: %w", o.sbom, err)
			}
		}
	}
	if err := printVerify(cmd, g, trustedRootUsed{v.TrustedRoot(), o.trust.warning}, verified, results, sboms...); err != nil {
		return err
	}
	if vsaw != nil {
		if err := vsaw.writeVerify(cmd.Context(), o.bundle, data, results); err != nil {
			return err
		}
		g.logf(stderr, "wrote %s VSA %s", vsaw.result, o.vsa.out)
	}
	for _, r := range results {
		for _, w := range r.Warnings {
			fmt.Fprintf(stderr, "slsabox: warning: %s: %s\n", termSafe(r.Artifact), termSafe(w))
		}
	}
	if first != nil {
		return hint.Wrap(first, "do not use the artifact: its provenance does not meet the policy (see the FAIL lines)")
	}
	return nil
}

// prepare reads the policy (--policy and the flags over it) and the trust material,
// and starts the VSA writer when --vsa-out asks for one.
func (o *verifyOptions) prepare(cmd *cobra.Command, g *globalOptions) (verify.Policy, *verify.Verifier, *vsaWriter, error) {
	flags := cmd.Flags()
	policy := verify.Policy{}
	if o.policyFile != "" {
		pdata, err := os.ReadFile(o.policyFile)
		if err != nil {
			return policy, nil, nil, usageError{err}
		}
		if policy, err = verify.LoadPolicy(pdata); err != nil {
			return policy, nil, nil, fmt.Errorf("%s: %w", o.policyFile, err)
		}
	}
	overridden := false
	for name, set := range map[string]func(){
		"builder-id":       func() { policy.BuilderID = o.policy.BuilderID },
		"source-uri":       func() { policy.SourceURI = o.policy.SourceURI },
		"source-ref":       func() { policy.SourceRef = o.policy.SourceRef },
		"source-commit":    func() { policy.SourceCommit = o.policy.SourceCommit },
		"build-type":       func() { policy.BuildType = o.policy.BuildType },
		"allowed-image":    func() { policy.AllowedImages = o.policy.AllowedImages },
		"require-hermetic": func() { policy.RequireHermetic = o.policy.RequireHermetic },
		"builder-level":    func() { policy.BuilderLevel = o.policy.BuilderLevel },
	} {
		if flags.Changed(name) {
			set()
			overridden = true
		}
	}
	if err := o.identity.fill(&policy, o.policyFile); err != nil {
		return policy, nil, nil, err
	}
	keyless := policy.CertificateIdentity != nil
	if err := o.trust.check("verify", keyless, "ask the publisher for the public key the builds are signed with, or for the workflow identity of keyless builds"); err != nil {
		return policy, nil, nil, err
	}
	overridden = overridden || o.allowAnyBuilder || o.allowAnySource || o.allowDirty || o.identity.set()
	policy.AllowAnyBuilderUnsafe = policy.AllowAnyBuilderUnsafe || o.allowAnyBuilder
	policy.AllowAnySourceUnsafe = policy.AllowAnySourceUnsafe || o.allowAnySource
	policy.AllowDirtyUnsafe = policy.AllowDirtyUnsafe || o.allowDirty

	var vsaw *vsaWriter
	if o.vsa.out != "" {
		var err error
		if vsaw, err = newVSAWriter(cmd.Context(), o.vsa, o.policyFile, policy, overridden); err != nil {
			return policy, nil, nil, err
		}
	}

	opts, err := o.trust.options(cmd.Context(), g, cmd.ErrOrStderr(), keyless)
	if err != nil {
		return policy, nil, nil, err
	}
	v, err := verify.New(opts...)
	if err != nil {
		return policy, nil, nil, err
	}
	return policy, v, vsaw, nil
}

// trustedRootUsed names the trusted root a run verified with and, when it is not a
// fresh one (trustroot's fallback), why.
type trustedRootUsed struct{ name, warning string }

// printVerify prints the results; --output json also names the trusted root used
// and why it is not a fresh one, so that a machine sees a TUF failure too (text
// output says both on stderr).
func printVerify(cmd *cobra.Command, g *globalOptions, trustedRoot trustedRootUsed, verified bool, results []artifactResult, sboms ...artifactResult) error {
	w := cmd.OutOrStdout()
	if g.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Verified           bool             `json:"verified"`
			TrustedRoot        string           `json:"trustedRoot,omitempty"`
			TrustedRootWarning string           `json:"trustedRootWarning,omitempty"`
			Artifacts          []artifactResult `json:"artifacts"`
			SBOMs              []artifactResult `json:"sboms,omitempty"`
		}{verified, trustedRoot.name, trustedRoot.warning, results, sboms})
	}
	for i, r := range append(slices.Clip(results), sboms...) {
		if i > 0 {
			fmt.Fprintln(w)
		}
		status := "VERIFIED"
		level := ""
		switch {
		case !r.Verified:
			status = "FAILED"
		case i < len(results):
			level = fmt.Sprintf(" SLSA_BUILD_LEVEL_%d", r.BuildLevel)
		}
		from := ""
		if r.Bundle != "" {
			from = " from " + r.Bundle
		}
		if i >= len(results) {
			// An SBOM is about the artifacts above; its line names the bundle.
			fmt.Fprintf(w, "%s SBOM %s%s\n", status, termSafe(r.Artifact), termSafe(from))
		} else {
			fmt.Fprintf(w, "%s %s (%s)%s%s\n", status, termSafe(r.Artifact), termSafe(displayDigest(r.Digest)), level, termSafe(from))
		}
		if r.Error != "" {
			fmt.Fprintf(w, "FAIL %s\n", termSafe(r.Error))
		}
		for _, c := range r.Checks {
			label := "ok  "
			switch {
			case c.Skipped:
				label = "--  " // not required, or not run after a failed signature
			case !c.OK:
				label = "FAIL"
			}
			fmt.Fprintf(w, "%s %s: %s\n", label, c.Name, termSafe(c.Detail))
		}
	}
	return nil
}

// displayDigest is a report's digest with its algorithm: Report.Digest leaves a
// sha256's out.
func displayDigest(d string) string {
	if d == "" || strings.Contains(d, ":") {
		return d
	}
	return "sha256:" + d
}

// trustFlags are what verify and rebuild trust: the builder's key, or for keyless
// bundles the trusted root's Fulcio CA (Sigstore's public-good root built in by
// default). Who must have signed a keyless bundle is the policy's (identityFlags).
type trustFlags struct {
	key, trustedRoot string
	noTlog           bool
	tuf              tufFlags
	warning          string // set by options: why the trusted root is not a fresh one
}

func (t *trustFlags) register(f *pflag.FlagSet) {
	f.StringVar(&t.trustedRoot, "trusted-root", os.Getenv("SLSABOX_TRUSTED_ROOT"), "trusted_root.json with the transparency log's key (env SLSABOX_TRUSTED_ROOT; default: Sigstore's public-good root, refreshed through TUF)")
	t.tuf.register(f)
	f.StringVar(&t.key, "key", "", "the builder's public key (PEM file; a private key file or KMS URI also works)")
	f.BoolVar(&t.noTlog, "no-tlog-unsafe", false, "accept bundles without a transparency log proof (unsafe)")
}

// check requires exactly one of a key and a keyless identity (keyless: the policy
// names one); command names who needs it, and where says where to get it.
func (t *trustFlags) check(command string, keyless bool, where string) error {
	switch {
	case t.key == "" && !keyless:
		return hint.Wrap(usageError{fmt.Errorf("%s %w", command, errNoTrust)}, where)
	case t.key != "" && keyless:
		return usageError{errors.New("--key conflicts with a certificate identity (the --certificate-* flags, or certificateIdentity in the policy file): a bundle is signed either with a key or keyless")}
	}
	return nil
}

// options are the verifier's: the key, or for keyless the trusted root alone.
func (t *trustFlags) options(ctx context.Context, g *globalOptions, stderr io.Writer, keyless bool) ([]verify.Option, error) {
	var opts []verify.Option
	if !keyless {
		pub, err := attest.LoadPublicKeyPEM(ctx, t.key)
		if err != nil {
			return nil, err
		}
		opts = append(opts, verify.WithPublicKey(pub))
	}
	trustedRoot := t.trustedRoot
	if trustedRoot != "" && t.tuf.explicit() && !t.tuf.changed("trusted-root") {
		// SLSABOX_TRUSTED_ROOT is a default; a --tuf-* flag given on the command line
		// says which root this run trusts.
		trustedRoot = ""
	}
	switch {
	case trustedRoot != "":
		if err := t.tuf.conflicts(); err != nil {
			return nil, err
		}
		opts = append(opts, verify.WithTrustedRootFile(trustedRoot))
	case !t.noTlog || keyless: // keyless needs the root's CA even without a log
		r, err := t.tuf.load(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, r.Option())
		if r.Warning != nil {
			t.warning = trustRootWarning(r)
			warnTrustRoot(stderr, r)
		} else {
			g.logf(stderr, "no --trusted-root: trusting %s", r.Name)
		}
	}
	if t.noTlog {
		opts = append(opts, verify.WithoutTransparencyLogUnsafe())
	}
	return opts, nil
}
