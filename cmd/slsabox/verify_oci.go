package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/spf13/cobra"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/spec"
	"github.com/slsabox/slsabox/attest/verify"
	"github.com/slsabox/slsabox/attest/verify/ociref"
	"github.com/slsabox/slsabox/internal/hint"
)

// registryTimeout bounds the whole search of one image's referrers.
const registryTimeout = 2 * time.Minute

// parseImageArgs reads the ARTIFACT arguments written as images (oci:// or
// oci-layout:), by index; the others are files.
func parseImageArgs(args []string) (map[int]ociref.Reference, error) {
	images := map[int]ociref.Reference{}
	for i, a := range args {
		if !ociref.IsReference(a) {
			continue
		}
		ref, err := ociref.ParseReference(a)
		if err != nil {
			return nil, hint.Wrap(usageError{err}, "name the image by the digest you expect, oci://REGISTRY/REPO@sha256:HEX (or oci-layout:DIR@sha256:HEX): the digest from the publisher or the build's result.json; resolving a tag now (crane digest REPO:TAG) trusts whatever the registry answers")
		}
		images[i] = ref
	}
	return images, nil
}

// imageName is how a report names an image: REGISTRY/REPO, the name its subject
// has (up to the registry, which --registry may have changed), or oci-layout:DIR.
func imageName(ref ociref.Reference) string {
	if ref.Layout {
		return ociref.SchemeLayout + ref.Name
	}
	return ref.Name
}

// runVerifyImages verifies images through the bundles attached to them: an image
// passes when one of its bundles passes every check.
func runVerifyImages(cmd *cobra.Command, g *globalOptions, o *verifyOptions, args []string, images map[int]ociref.Reference) error {
	stderr := cmd.ErrOrStderr()
	switch {
	case len(images) != len(args):
		return usageError{errors.New("files need --bundle: verify images (oci://, oci-layout:) and files in separate runs")}
	case o.digest != "":
		return usageError{errors.New("--digest conflicts with an image argument: the image reference names the digest")}
	case o.sbom != "":
		return usageError{errors.New("--sbom needs --bundle: without it, the SBOMs attached to each image are found and checked")}
	case o.vsa.out != "":
		return usageError{errors.New("--vsa-out needs --bundle with an image: fetch the bundle you verify (for a build's own image, OUT/provenance.sigstore.json)")}
	}
	// The referrers are fetched while the policy and the trust material are read.
	type found struct {
		bundles []ociref.Bundle
		err     error
	}
	finds := make([]found, len(args))
	done := make(chan struct{})
	ctx, cancel := context.WithTimeout(cmd.Context(), registryTimeout)
	defer cancel()
	go func() {
		defer close(done)
		for i := range args {
			finds[i].bundles, finds[i].err = ociref.Find(ctx, images[i])
		}
	}()
	policy, v, _, err := o.prepare(cmd, g)
	if err != nil {
		cancel()
		<-done
		return err
	}
	<-done

	var (
		results, sboms []artifactResult
		verified       = true
		first          error
	)
	for i := range args {
		ref := images[i]
		if err := finds[i].err; err != nil {
			return imageError(ref, err)
		}
		rs, ss, err := verifyImageBundles(v, policy, ref, finds[i].bundles)
		if errors.Is(err, verify.ErrInvalidPolicy) {
			return hint.Wrap(err, "complete the policy as the error says: --builder-id, --source-uri and, for a keyless bundle, --certificate-identity and --certificate-oidc-issuer (or a --policy file)")
		}
		results = append(results, rs...)
		sboms = append(sboms, ss...)
		if err == nil && o.requireSBOM && !slices.ContainsFunc(ss, func(r artifactResult) bool { return r.Verified }) {
			err = fmt.Errorf("%w: %s (%s) has no SBOM attached that verifies (%d attached)", verify.ErrPolicy, imageName(ref), ref.Digest, len(ss))
		}
		if err != nil {
			verified = false
			if first == nil {
				first = err
			}
		} else if len(rs) > 1 {
			g.logf(stderr, "%s: verified by one of the %d bundles attached; the others failed (see the FAILED lines)", imageName(ref), len(rs))
		}
	}
	if err := printVerify(cmd, g, trustedRootUsed{v.TrustedRoot(), o.trust.warning}, verified, results, sboms...); err != nil {
		return err
	}
	for _, r := range results {
		if r.Verified {
			for _, w := range r.Warnings {
				fmt.Fprintf(stderr, "slsabox: warning: %s: %s\n", termSafe(r.Artifact), termSafe(w))
			}
		}
	}
	if first != nil {
		return hint.Wrap(first, "do not use the image: no bundle attached to it meets the policy (see the FAILED and FAIL lines)")
	}
	return nil
}

// verifyImageBundles verifies each provenance bundle found for ref against its
// digest, the passing one first; it fails when none passes. The SBOM bundles among
// them are checked against the provenance that passed (sboms); one that fails is
// reported, as any other bundle that fails, and does not fail the image.
func verifyImageBundles(v *verify.Verifier, policy verify.Policy, ref ociref.Reference, bundles []ociref.Bundle) (results, sboms []artifactResult, err error) {
	name := imageName(ref)
	policy.Digest = ref.Digest
	var (
		passed = -1
		first  error
		source string
		sbomOf []*bundle.Bundle
	)
	for _, fb := range bundles {
		res := artifactResult{Artifact: name, Bundle: fb.Source}
		err := fb.Err
		if err == nil {
			parsed, perr := attest.ParseBundle(fb.JSON)
			switch {
			case perr != nil:
				// Not the user's input: what the registry serves (exit 1, not 2).
				err = fmt.Errorf("%w: the bundle does not parse: %v", ociref.ErrRefused, perr)
			case isSBOM(parsed):
				sboms = append(sboms, artifactResult{Artifact: "attached to " + name, Bundle: fb.Source})
				sbomOf = append(sbomOf, parsed)
				continue
			default:
				res.Report, err = v.Verify(parsed, policy)
				if errors.Is(err, verify.ErrInvalidPolicy) {
					return nil, nil, err
				}
			}
		}
		if res.Report == nil {
			res.Report = &verify.Report{Digest: strings.TrimPrefix(ref.Digest, "sha256:")}
			res.Error = err.Error()
		}
		switch {
		case err == nil && passed < 0:
			passed = len(results)
		case err != nil && first == nil:
			first, source = err, fb.Source
		}
		results = append(results, res)
	}
	for i := range sboms {
		if passed < 0 {
			sboms[i].Report, sboms[i].Error = &verify.Report{}, errProvenanceFailed.Error()
			continue
		}
		var err error
		if sboms[i].Report, err = v.VerifySBOM(sbomOf[i], results[passed].Report, policy); errors.Is(err, verify.ErrInvalidPolicy) {
			return nil, nil, err
		}
	}
	switch {
	case passed >= 0:
		results[0], results[passed] = results[passed], results[0]
		return results, sboms, nil
	case len(results) == 0:
		return results, sboms, fmt.Errorf("%w: %s (%s) has only SBOMs attached (%d), no provenance", verify.ErrPolicy, name, ref.Digest, len(sboms))
	case len(results) == 1:
		return results, sboms, fmt.Errorf("verifying %s (%s) with the bundle attached, %s: %w", name, ref.Digest, source, first)
	}
	return results, sboms, fmt.Errorf("verifying %s (%s): none of the %d bundles attached passes (see the FAILED lines); the first, %s: %w", name, ref.Digest, len(results), source, first)
}

// isSBOM says whether the bundle's statement claims an SBOM predicate type (read
// before its signature is checked: it only says which check applies).
func isSBOM(b *bundle.Bundle) bool {
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	env := b.GetDsseEnvelope()
	if env == nil || json.Unmarshal(env.GetPayload(), &st) != nil {
		return false
	}
	return st.PredicateType == spec.PredicateCycloneDX || st.PredicateType == spec.PredicateSPDX
}

// imageError maps a failure to find an image's bundles to its exit code: a
// registry that cannot be asked is the environment's (3), a reference the user's (2).
func imageError(ref ociref.Reference, err error) error {
	switch {
	case errors.Is(err, ociref.ErrReference):
		return usageError{err}
	case errors.Is(err, ociref.ErrUnreachable):
		return hint.Wrap(envError{err}, "check that the registry is up and reachable, and for a private one that docker login (or the Docker config) gives credentials; then run verify again")
	case errors.Is(err, ociref.ErrInvalidImage):
		return hint.Wrap(err, "do not use the image: the layout does not hold what its digest names")
	case errors.Is(err, ociref.ErrNoAttestation):
		return hint.Wrap(err, "ask the publisher to attach the provenance (slsabox push), or verify the build's bundle: slsabox verify "+ref.String()+" --bundle provenance.sigstore.json")
	}
	return err
}
