//go:build !slsabox_verifyonly

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/spf13/cobra"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/ocipush"
	"github.com/slsabox/slsabox/attest/sbom"
	"github.com/slsabox/slsabox/builder"
	"github.com/slsabox/slsabox/internal/hint"
	"github.com/slsabox/slsabox/internal/version"
)

type buildOptions struct {
	file         string
	out          string
	allowDirty   bool
	workDir      string
	needUserns   bool
	noUserns     bool
	runtime      runtimeFlag
	key          string
	unsigned     bool
	noTlog       bool
	rekor        rekorFlags
	builderID    string
	invocationID string
	sourceURI    string
	sourceRef    string
	inputs       inputFlags
	keyless      keylessFlags
	sbomFormat   sbom.Format
	push         bool
	pushTo       pushFlags
	tsas         []*sign.TimestampAuthority // set when signing keyless
}

// defaultBuilderID names a build run by the CLI outside any CI that identifies itself.
const defaultBuilderID = "https://slsabox.dev/builders/cli/v1"

func newBuildCmd(g *globalOptions) *cobra.Command {
	o := &buildOptions{}
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Run the build of the git work tree DIR in a hermetic sandbox and sign its provenance",
		Long: `build exports the committed tree of DIR (default .), reads DIR/slsabox.yaml, and runs
each step in its own containerd container: read-only image pinned by digest, the source
copy at /src, outputs at /out, no network, no capabilities, a non-root user, memory,
process and time limits, and an environment made only of the image's, LC_ALL=C.UTF-8
and TZ=UTC, the step's, HOME=/tmp and SOURCE_DATE_EPOCH (the commit time).
Steps run in a user namespace of their own: uid 48213 in a step is an id of a host
range that belongs to no account and to no other build, and no id in it is host root.
Where the kernel cannot make one, the build warns and the provenance records
sandbox.userNamespace "none: REASON"; --require-userns refuses such a build (exit 3).
--no-userns turns it off (recorded as "none: turned off by the caller"): for
measuring what it costs, and for images whose files a step must read as their owner.
With --runtime gvisor (or sandbox: {runtime: gvisor} in slsabox.yaml) the steps run
under gVisor's user-space kernel, one gVisor sandbox per build: a step's system calls
reach gVisor's Sentry, not the host kernel. It needs a containerd 1.7 or later with
containerd-shim-runsc-v1 and runsc (scripts/gvisor.sh start runs one; pass its
address with --containerd-address). The provenance records sandbox.runtime.

Declared inputs (inputs: in slsabox.yaml) are fetched by slsabox before the first step,
outside the sandbox: url files checked against their sha256, Go modules against go.sum
(through --goproxy). They are cached by digest in --cache-dir, hashed again on every
build, and mounted read-only at /inputs (Go modules as GOMODCACHE=/inputs/gomod with
GOPROXY=off and GOFLAGS=-mod=readonly). A mismatch stops the build before any step.

Every regular file under /out that matches outputs: becomes a subject with its sha256.
The SLSA v1 provenance of the build is signed as a DSSE envelope with --key (a PEM
file or KMS URI), or with --keyless (an ephemeral key certified by Fulcio for the CI's
OIDC identity, plus an RFC 3161 timestamp from --tsa-url; the default in GitHub Actions
when the job may request an ID token and no --key is given; see docs/keyless.md),
logged to the transparency log at --rekor-url (or not, with --no-tlog) and written as
a Sigstore bundle, OUT/provenance.sigstore.json. If the log cannot be
reached, the signed bundle is still written, the build exits 3, and slsabox upload
logs it later.
On success OUT (default ./slsabox-out) is replaced as a whole by the artifacts,
build.log and the bundle; on failure it is left untouched and the log is kept in
OUT.failed.log.

With --push, the images of a signed build (images: in slsabox.yaml) are then pushed
to their registries by digest, with the bundle attached to each as an OCI 1.1
referrer (see slsabox push --help; --registry HOST[:PORT] replaces each name's
registry). OUT is published first: if the registry fails, the build exits 3 and
slsabox push --bundle OUT/provenance.sigstore.json finishes later.

Exit codes: 0 built; 1 a step or the outputs failed; 2 bad input (definition, dirty
tree, key, flags); 3 environment (containerd, disk, transparency log, registry) or
interrupted.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runBuild(cmd, g, o, dir)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "build definition (default DIR/slsabox.yaml)")
	f.StringVarP(&o.out, "out", "o", "slsabox-out", "output directory, replaced as a whole on success")
	f.BoolVar(&o.allowDirty, "allow-dirty", false, "build uncommitted changes (recorded as dirty)")
	f.StringVar(&o.workDir, "work-dir", "", "where the source copy and step outputs live during the build (default $TMPDIR)")
	f.BoolVar(&o.needUserns, "require-userns", false, "refuse to build (exit 3) where steps cannot run in a user namespace, instead of warning and recording it")
	f.BoolVar(&o.noUserns, "no-userns", false, "run steps without a user namespace (unsafe: uid 48213 in a step is uid 48213 on the host; recorded in the provenance)")
	o.runtime.register(f)
	f.StringVar(&o.key, "key", os.Getenv("SLSABOX_KEY"), "signing key: PEM file or KMS URI (env SLSABOX_KEY; passphrase in $"+attest.PassphraseEnv+")")
	f.BoolVar(&o.unsigned, "unsigned", false, "write no provenance at all (unsafe: consumers can verify nothing)")
	f.BoolVar(&o.noTlog, "no-tlog", false, "do not log the signed provenance to a transparency log (recorded in the provenance as externalParameters.noTlog)")
	o.rekor.register(f)
	o.keyless.register(f)
	f.StringVar(&o.builderID, "builder-id", envOr("SLSABOX_BUILDER_ID", ""), "builder.id recorded in the provenance (default: the CI's workflow identity, else "+defaultBuilderID+"; keyless: always the certificate's identity)")
	f.StringVar(&o.invocationID, "invocation-id", "", "invocation id recorded in the provenance (default: the CI run URL, else a build id)")
	f.StringVar(&o.sourceURI, "source-uri", "", "canonical source URI for the provenance (default: from git's remote.origin.url)")
	f.StringVar(&o.sourceRef, "source-ref", "", "source ref for the provenance (default: the checked-out branch)")
	o.inputs.register(f)
	o.sbomFormat = sbom.CycloneDX
	f.Var(sbomFormatFlag{&o.sbomFormat}, "sbom-format", "format of the signed SBOM, OUT/"+attest.SBOMBundleFile+": cyclonedx (CycloneDX 1.6 JSON) or spdx (SPDX 2.3 JSON)")
	f.BoolVar(&o.push, "push", false, "push the built images by digest and attach the signed provenance to each (a referrer)")
	o.pushTo.register(f)
	return cmd
}

func runBuild(cmd *cobra.Command, g *globalOptions, o *buildOptions, dir string) error {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	// A key or log URL that comes from the environment yields to an explicit
	// --unsigned or --no-tlog; given as flags, they conflict.
	flags := cmd.Flags()
	if o.unsigned && !flags.Changed("key") {
		o.key = ""
	}
	if (o.unsigned || o.noTlog) && !flags.Changed("rekor-url") {
		o.rekor.url = ""
	}
	keyless := o.keyless.wanted(flags, o.key, o.unsigned)
	if keyless && !flags.Changed("key") {
		o.key = "" // a key from $SLSABOX_KEY yields to an explicit --keyless
	}
	var (
		signer attest.Signer
		tlog   attest.TransparencyLog
	)
	var pushErr error // --registry and --tag as given
	if o.push {
		pushErr = ocipush.CheckOptions(o.pushTo.options()...)
	}
	switch {
	case o.push && o.unsigned:
		return usageError{fmt.Errorf("--push conflicts with --unsigned: there is no provenance to attach")}
	case o.pushTo.registry != "" && !o.push:
		return usageError{fmt.Errorf("--registry needs --push")}
	case len(o.pushTo.tags) > 0 && !o.push:
		return usageError{fmt.Errorf("--tag needs --push")}
	case pushErr != nil:
		return usageError{pushErr}
	case o.needUserns && o.noUserns:
		return usageError{fmt.Errorf("--no-userns conflicts with --require-userns")}
	case keyless && (o.key != "" || o.unsigned):
		return usageError{fmt.Errorf("--keyless conflicts with --key and --unsigned")}
	case o.unsigned && (o.key != "" || o.noTlog || o.rekor.url != ""):
		return usageError{fmt.Errorf("--unsigned conflicts with --key, --no-tlog and --rekor-url")}
	case o.unsigned:
		g.logf(stderr, "warning: --unsigned: this build writes no provenance, so nobody can verify it")
	case o.key == "" && !keyless:
		return hint.Wrap(usageError{fmt.Errorf("no signing key")},
			"pass --key FILE (slsabox keygen makes one) or a KMS URI, or --keyless in a CI with an OIDC identity; --unsigned builds without provenance")
	case o.noTlog && o.rekor.url != "":
		return usageError{fmt.Errorf("--no-tlog conflicts with --rekor-url")}
	case !o.noTlog && o.rekor.url == "":
		return hint.Wrap(usageError{fmt.Errorf("no transparency log: pass --rekor-url URL, or --no-tlog to sign without logging")},
			"scripts/rekor.sh start runs a local Rekor v2 (scripts/rekor.sh url prints its URL); without a log entry, verifiers must opt out of log checks")
	default:
		var err error
		if keyless {
			if signer, o.tsas, err = o.keyless.signer(); err != nil {
				return err
			}
		} else if signer, err = attest.LoadSigner(ctx, o.key); err != nil {
			return err
		}
		if o.noTlog {
			g.logf(stderr, "warning: --no-tlog: the provenance is signed but not logged to a transparency log")
		} else {
			if tlog, err = o.rekor.client(); err != nil {
				return err
			}
			if err := attest.CheckLoggable(signer, tlog); err != nil {
				return err
			}
		}
	}

	if signer != nil {
		version.PrefetchBinaryDigest() // for the provenance, while the build runs
	}

	file := o.file
	if file == "" {
		file = filepath.Join(dir, "slsabox.yaml")
	}
	// A bad definition is the user's to fix, whether or not containerd is up.
	if _, err := builder.LoadDefinition(dir, file); err != nil {
		return err
	}
	// In a CI, a checkout that is not of the workflow's commit and repository is
	// refused before the build (and checked again on the tree that was built).
	if id := ciIdentity(); signer != nil && (id.sha != "" || id.sourceURI != "") {
		src, err := builder.InspectSource(ctx, dir)
		if err != nil {
			return err
		}
		if err := checkCheckout(id, o, src); err != nil {
			return err
		}
	}
	opts := []builder.Option{}
	if o.workDir != "" {
		opts = append(opts, builder.WithWorkDir(o.workDir))
	}
	switch {
	case o.needUserns:
		opts = append(opts, builder.WithUserNamespace(builder.UsernsRequire))
	case o.noUserns:
		opts = append(opts, builder.WithUserNamespace(builder.UsernsOffUnsafe))
	}
	opts = append(opts, o.runtime.options()...)
	b, err := g.newBuilder(ctx, stderr, append(opts, o.inputs.options()...)...)
	if err != nil {
		return err
	}
	defer b.Close()
	req := builder.Request{SourceDir: dir, DefinitionFile: file, OutDir: o.out, AllowDirtyTree: o.allowDirty}
	var prov *provenanceInfo
	if signer != nil {
		req.Finish = func(ctx context.Context, stage string, res *builder.Result) error {
			var err error
			prov, err = writeProvenance(ctx, g, o, stage, res, signer, tlog, stderr)
			if prov != nil {
				prov.Bundle = filepath.Join(res.OutDir, attest.BundleFile)
			}
			return err
		}
	}
	res, err := b.Build(ctx, req)
	var pushed []ocipush.Pushed
	if o.push && err == nil && prov != nil {
		var images []ocipush.Image
		for _, img := range res.Images {
			images = append(images, ocipush.Image{Name: img.Name, Digest: img.Digest, Layout: filepath.Join(res.OutDir, img.Layout)})
		}
		if len(images) == 0 {
			g.logf(stderr, "warning: --push: the build made no image (images: in slsabox.yaml), nothing to push")
		} else {
			pushed, err = pushImages(cmd, g, prov.Bundle, images, o.pushTo)
		}
	}
	if res != nil && (err == nil || prov != nil) {
		if perr := printResult(cmd, g, res, prov, pushed); perr != nil && err == nil {
			err = perr
		}
	} else if g.output == "json" && res != nil {
		_ = json.NewEncoder(cmd.OutOrStdout()).Encode(res)
	}
	return err
}

func writeProvenance(ctx context.Context, g *globalOptions, o *buildOptions, stage string, res *builder.Result,
	signer attest.Signer, tlog attest.TransparencyLog, stderr io.Writer) (*provenanceInfo, error) {
	id := ciIdentity()
	if err := checkCheckout(id, o, res.Source); err != nil {
		return nil, err
	}
	builderID := firstOf(o.builderID, id.builderID, defaultBuilderID)
	if ks, ok := signer.(*attest.KeylessSigner); ok {
		// A keyless provenance's builder is the identity its certificate proves (for
		// GitHub Actions the job's workflow, https://github.com/{job_workflow_ref}):
		// verify requires them to be equal, so that no other workflow an identity
		// regexp admits can claim to be this builder.
		cert, err := ks.Certificate(ctx)
		if err != nil {
			if h := keylessHint(err, &o.keyless); h != "" {
				return nil, hint.Wrap(err, h)
			}
			return nil, err
		}
		certID := attest.CertificateIdentity(cert)
		switch {
		case certID == "":
			return nil, hint.Wrap(usageError{fmt.Errorf("the certificate from %s names no identity (no subject alternative name)", ks.FulcioURL())},
				"sign with --key, or with an OIDC identity Fulcio certifies by name")
		case o.builderID != "" && o.builderID != certID:
			return nil, hint.Wrap(usageError{fmt.Errorf("--builder-id %s is not the identity the signing certificate proves, %s", o.builderID, certID)},
				"a keyless build's builder id is its certificate's identity: leave --builder-id (and $SLSABOX_BUILDER_ID) out, or sign with --key")
		}
		builderID = certID
	}
	popts := []attest.ProvenanceOption{
		attest.WithInvocationID(firstOf(o.invocationID, id.invocationID, "urn:slsabox:build:"+res.BuildID)),
		attest.WithSlsaboxBinary(version.String(), version.BinaryDigest()),
	}
	if o.noTlog {
		popts = append(popts, attest.WithNoTlog())
	}
	desc := describeBuild(res, firstOf(o.sourceURI, id.sourceURI), firstOf(o.sourceRef, id.sourceRef))
	st, err := attest.Provenance(desc, builderID, popts...)
	if err != nil {
		return nil, err
	}
	// The SBOM is made before anything is signed: a build whose SBOM cannot be made
	// publishes nothing.
	sbomSt, err := sbom.Statement(desc, o.sbomFormat, sbom.WithTool("slsabox", version.String()))
	if err != nil {
		return nil, err
	}
	bundle, err := o.sign(ctx, st, signer)
	if err != nil {
		return nil, err
	}
	info := &provenanceInfo{SigningMode: "key"}
	if ks, ok := signer.(*attest.KeylessSigner); ok {
		info.SigningMode = "keyless"
		info.CertificateIdentity, info.CertificateIssuer = certificateSubject(bundle)
		g.logf(stderr, "signed provenance for %d subjects as builder %s with a certificate from %s (%s)", len(res.Subjects)+len(res.Images), builderID,
			ks.FulcioURL(), certificateIdentity(bundle))
	} else {
		g.logf(stderr, "signed provenance for %d subjects as builder %s", len(res.Subjects)+len(res.Images), builderID)
	}
	// The SBOM, signed as the provenance is, over the same subjects: both are signed
	// before either is logged, so that no log entry names a build that then fails.
	sbomBundle, err := o.sign(ctx, sbomSt, signer)
	if err != nil {
		return nil, err
	}
	g.logf(stderr, "signed the %s SBOM of the same subjects", o.sbomFormat)
	var provPub, sbomPub []byte // the keys the log records: a failure here is no log outage
	if tlog != nil {
		if provPub, err = attest.SignerPEM(bundle, signer); err != nil {
			return nil, err
		}
		if sbomPub, err = attest.SignerPEM(sbomBundle, signer); err != nil {
			return nil, err
		}
	}
	var logErr error
	if tlog != nil {
		if info.LogIndex, logErr = logSigned(ctx, g, bundle, provPub, tlog, "provenance", stderr); logErr == nil {
			info.Logged, info.LogURL = true, tlog.URL()
		}
	}
	// Signed provenance is never dropped: when the log failed, the unlogged bundle is
	// still written and published, and the build exits non-zero so that
	// slsabox upload finishes the job.
	if err := writeStagedBundle(filepath.Join(stage, attest.BundleFile), bundle); err != nil {
		return nil, envError{err}
	}
	info.SBOM = &sbomInfo{Format: string(o.sbomFormat), Bundle: filepath.Join(res.OutDir, attest.SBOMBundleFile), LogIndex: -1}
	var sbomLogErr error
	switch {
	case tlog == nil:
	case logErr != nil:
		sbomLogErr = logErr // the log just failed: the SBOM waits for it as the provenance does
	default:
		if info.SBOM.LogIndex, sbomLogErr = logSigned(ctx, g, sbomBundle, sbomPub, tlog, "SBOM", stderr); sbomLogErr == nil {
			info.SBOM.Logged = true
		}
	}
	if err := writeStagedBundle(filepath.Join(stage, attest.SBOMBundleFile), sbomBundle); err != nil {
		return nil, envError{err}
	}

	if logErr != nil || sbomLogErr != nil {
		keyArg := " --key " + o.key
		if o.key == "" {
			keyArg = "" // a keyless bundle carries its certificate
		}
		var cmds []string
		for _, b := range []struct {
			file string
			err  error
		}{{attest.BundleFile, logErr}, {attest.SBOMBundleFile, sbomLogErr}} {
			if b.err != nil {
				cmds = append(cmds, fmt.Sprintf("slsabox upload --bundle %s%s --rekor-url %s", filepath.Join(res.OutDir, b.file), keyArg, tlog.URL()))
			}
		}
		err := logErr
		if err == nil {
			err = fmt.Errorf("logging the SBOM: %w", sbomLogErr)
		}
		return info, &builder.Publish{Err: hint.Wrap(err, fmt.Sprintf(
			"the signed bundles were written; %d without a log entry: when the log is back, run: %s",
			len(cmds), strings.Join(cmds, " && ")))}
	}
	return info, nil
}

// sign signs a statement with the build's signer (and the timestamp authorities of
// a keyless build).
func (o *buildOptions) sign(ctx context.Context, st *intoto.Statement, signer attest.Signer) (*bundle.Bundle, error) {
	var sopts []attest.SignOption
	for _, tsa := range o.tsas {
		sopts = append(sopts, attest.WithTimestampAuthority(tsa))
	}
	b, err := attest.Sign(ctx, st, signer, sopts...)
	if err != nil {
		if h := keylessHint(err, &o.keyless); h != "" {
			return nil, hint.Wrap(err, h)
		}
		return nil, err
	}
	return b, nil
}

// logSigned logs a signed bundle whose signer's key is pub (what names it in the
// progress lines) and returns its log index.
func logSigned(ctx context.Context, g *globalOptions, b *bundle.Bundle, pub []byte, tlog attest.TransparencyLog, what string, stderr io.Writer) (int64, error) {
	g.logf(stderr, "logging the %s to %s", what, tlog.URL())
	if err := attest.LogBundle(ctx, b, pub, tlog); err != nil {
		return -1, err
	}
	_, index := attest.Logged(b)
	g.logf(stderr, "logged the %s to %s at index %d", what, tlog.URL(), index)
	return index, nil
}

// writeStagedBundle writes the bundle into the build's staging directory. It is a
// new file in a directory nobody else sees until builder's publish writes the whole
// stage to disk (one syncfs for every file in it), renames it into place and syncs
// OUT's parent, so attest.WriteBundle's temporary file, rename and syncs would only
// add work: an fsync here would cost one journal commit per bundle, for nothing.
func writeStagedBundle(path string, b *bundle.Bundle) error {
	data, err := attest.MarshalBundle(b)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644) // as attest.WriteBundle: readable whatever the umask
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ciIdentity reads what a CI says about the run from its standard variables.
type identity struct{ builderID, invocationID, sourceURI, sourceRef, sha string }

func ciIdentity() identity {
	var id identity
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		server := envOr("GITHUB_SERVER_URL", "https://github.com")
		repo := os.Getenv("GITHUB_REPOSITORY")
		if wf := os.Getenv("GITHUB_WORKFLOW_REF"); wf != "" {
			id.builderID = server + "/" + wf
		}
		if run := os.Getenv("GITHUB_RUN_ID"); run != "" && repo != "" {
			id.invocationID = fmt.Sprintf("%s/%s/actions/runs/%s/attempts/%s", server, repo, run, envOr("GITHUB_RUN_ATTEMPT", "1"))
		}
		if repo != "" {
			id.sourceURI = "git+" + server + "/" + repo
		}
		id.sourceRef = os.Getenv("GITHUB_REF")
		id.sha = os.Getenv("GITHUB_SHA")
	}
	return id
}

// checkCheckout refuses to record the CI's repository and ref for a checkout that is
// not of them. In GitHub Actions the repository and ref come from the environment and
// the commit from the checkout: a workflow on main that checks out another ref or
// another repository would otherwise get provenance claiming main of this repository
// for a commit from elsewhere. --source-uri and --source-ref replace what they name.
func checkCheckout(id identity, o *buildOptions, src *builder.Source) error {
	if id.sha != "" && o.sourceRef == "" && id.sourceRef != "" && !strings.EqualFold(id.sha, src.Commit) {
		return hint.Wrap(usageError{fmt.Errorf("the checkout is at %s, not at GITHUB_SHA %s: the provenance would record %s for a commit that is not its", short(src.Commit), short(id.sha), id.sourceRef)},
			"build the commit the workflow ran for (actions/checkout without ref:), or pass --source-ref with the ref that was checked out")
	}
	if o.sourceURI == "" && id.sourceURI != "" && !sameRepository(attest.SourceURI(src.RemoteURL, src.RepoRoot), id.sourceURI) {
		return hint.Wrap(usageError{fmt.Errorf("the checkout's origin %s is not GITHUB_REPOSITORY's %s: the provenance would record the workflow's repository for another's code",
			attest.SourceURI(src.RemoteURL, src.RepoRoot), id.sourceURI)},
			"build a checkout of the workflow's repository, or pass --source-uri with the repository that was checked out")
	}
	return nil
}

// sameRepository compares source URIs as GitHub does: without a final .git or slash,
// case-insensitively.
func sameRepository(a, b string) bool {
	norm := func(u string) string {
		return strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(u), "/"), ".git")
	}
	return norm(a) == norm(b)
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func printResult(cmd *cobra.Command, g *globalOptions, res *builder.Result, prov *provenanceInfo, pushed []ocipush.Pushed) error {
	w := cmd.OutOrStdout()
	if g.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*builder.Result
			Provenance *provenanceInfo  `json:"provenance,omitempty"`
			Pushed     []ocipush.Pushed `json:"pushed,omitempty"`
		}{res, prov, pushed})
	}
	fmt.Fprintf(w, "built %s at %s", termSafe(res.Source.RepoRoot), short(res.Source.Commit))
	if res.Source.Dirty {
		fmt.Fprint(w, " (dirty)")
	}
	fmt.Fprintf(w, " in %s with %s\n", res.FinishedOn.Sub(res.StartedOn).Round(1e6), res.Image.ManifestDigest)
	for _, s := range res.Subjects {
		fmt.Fprintf(w, "sha256:%s  %s\n", s.SHA256, termSafe(filepath.Join(res.OutDir, s.Name)))
	}
	for _, img := range res.Images {
		fmt.Fprintf(w, "%s  %s (image %s)\n", img.Digest, termSafe(filepath.Join(res.OutDir, img.Layout)), termSafe(img.Name))
	}
	if prov != nil {
		fmt.Fprintf(w, "provenance: %s\n", termSafe(prov.Bundle))
		switch {
		case prov.Logged:
			fmt.Fprintf(w, "log entry: %s index %d\n", termSafe(prov.LogURL), prov.LogIndex)
		case g.output == "text":
			fmt.Fprintln(w, "log entry: none (UNLOGGED)")
		}
		if sb := prov.SBOM; sb != nil {
			fmt.Fprintf(w, "sbom: %s (%s)\n", termSafe(sb.Bundle), sb.Format)
			switch {
			case sb.Logged:
				fmt.Fprintf(w, "sbom log entry: %s index %d\n", termSafe(prov.LogURL), sb.LogIndex)
			case g.output == "text":
				fmt.Fprintln(w, "sbom log entry: none (UNLOGGED)")
			}
		}
	}
	return printPushed(w, g, pushed)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// sbomFormatFlag is --sbom-format, checked as it is parsed.
type sbomFormatFlag struct{ f *sbom.Format }

func (v sbomFormatFlag) String() string {
	if v.f == nil {
		return ""
	}
	return string(*v.f)
}

func (v sbomFormatFlag) Set(s string) error {
	f, err := sbom.ParseFormat(s)
	if err != nil {
		return err
	}
	*v.f = f
	return nil
}

func (sbomFormatFlag) Type() string { return "FORMAT" }
