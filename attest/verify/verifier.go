package verify

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"google.golang.org/protobuf/proto"

	"github.com/slsabox/slsabox/attest/spec"
	"github.com/slsabox/slsabox/internal/filehash"
)

// Verifier holds trust material. It is safe for concurrent use.
type Verifier struct {
	trusted  root.TrustedMaterial // everything, for the log proof
	sig      *sgverify.Verifier   // signature only
	logs     map[string]*root.TransparencyLog
	logged   bool   // a log proof is required
	rootName string // where the trusted root came from, for reports
	warnings []string
	identity *Identity                    // keyless: who must have signed (identity.go)
	certID   sgverify.CertificateIdentity // keyless: SAN and issuer matcher
	sigNoLog *sgverify.Verifier           // keyless: the signature of an unlogged bundle
}

type config struct {
	root     *root.TrustedRoot
	rootErr  error
	rootName string
	keyPEM   []byte
	noTlog   bool
	identity *Identity
}

// Option configures a Verifier.
type Option func(*config)

// WithTrustedRoot trusts the logs (and authorities) of a Sigstore trusted root.
func WithTrustedRoot(tr *root.TrustedRoot) Option {
	return func(c *config) {
		if tr == nil {
			c.rootErr = errors.New("nil trusted root")
		}
		c.root, c.rootName = tr, "given"
	}
}

// WithTrustedRootFile reads a trusted_root.json (scripts/rekor.sh trusted-root writes
// one for the local log).
func WithTrustedRootFile(path string) Option {
	return func(c *config) {
		c.root, c.rootErr = root.NewTrustedRootFromPath(path)
		c.rootName = path
		if c.rootErr != nil {
			c.rootErr = fmt.Errorf("reading trusted root %s: %v", path, c.rootErr)
		}
	}
}

// WithPublicKey trusts signatures made by the key (PEM "PUBLIC KEY"), whatever key
// hint the bundle carries.
func WithPublicKey(pem []byte) Option {
	return func(c *config) { c.keyPEM = pem }
}

// WithoutTransparencyLogUnsafe accepts bundles without a transparency log proof: a
// signature alone does not show that the signing was made public, so a stolen key goes
// unnoticed. Every report then carries a warning.
func WithoutTransparencyLogUnsafe() Option {
	return func(c *config) { c.noTlog = true }
}

// New builds a Verifier. It needs a public key (key-signed bundles are what slsabox
// writes) and, unless WithoutTransparencyLogUnsafe, a trusted root holding the log's key.
func New(opts ...Option) (*Verifier, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.rootErr != nil {
		return nil, fmt.Errorf("%w: %v", ErrTrustMaterial, c.rootErr)
	}
	if c.identity != nil {
		return newKeyless(c)
	}
	if c.keyPEM == nil {
		return nil, fmt.Errorf("%w: no public key: pass the key the builder signs with", ErrTrustMaterial)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(bytes.TrimSpace(c.keyPEM))
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %w", ErrTrustMaterial, err)
	}
	keys, err := keyMaterial(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %w", ErrTrustMaterial, err)
	}
	v := &Verifier{logged: !c.noTlog, rootName: c.rootName}
	var trusted root.TrustedMaterialCollection
	if c.root != nil {
		trusted = append(trusted, c.root)
		v.logs = c.root.RekorLogs()
		if len(c.root.RekorLogs()) == 0 && v.logged {
			return nil, fmt.Errorf("%w: the trusted root names no transparency log", ErrTrustMaterial)
		}
	} else if v.logged {
		return nil, fmt.Errorf("%w: no trusted root: a log proof cannot be checked without the log's key (or opt out with WithoutTransparencyLogUnsafe)", ErrTrustMaterial)
	}
	trusted = append(trusted, keys)
	v.trusted = trusted
	if v.sig, err = sgverify.NewVerifier(trusted, sgverify.WithCurrentTime()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTrustMaterial, err)
	}
	if !v.logged {
		v.warnings = append(v.warnings, "transparency log not checked (unsafe opt-out): the signature alone does not show the signing was made public")
	}
	return v, nil
}

func keyMaterial(pub crypto.PublicKey) (root.TrustedMaterial, error) {
	sv, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return nil, err
	}
	return root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(sv, time.Time{}, time.Time{}), nil
	}), nil
}

// Verify checks the bundle against the trust material and the policy. The report is
// never nil and lists every check; the error, when verification failed, wraps the
// sentinel of the first failed check (ErrInvalidPolicy if the policy is incomplete).
func (v *Verifier) Verify(b *bundle.Bundle, p Policy) (*Report, error) {
	r := &Report{Warnings: append([]string(nil), v.warnings...)}
	p, err := p.validate()
	r.Digest = p.Digest
	if err != nil {
		return r, err
	}
	if p.AllowAnyBuilderUnsafe {
		r.Warnings = append(r.Warnings, "builder id not checked (unsafe opt-out): any holder of the key can claim to be the builder")
	}
	if p.AllowAnySourceUnsafe {
		r.Warnings = append(r.Warnings, "source uri not checked (unsafe opt-out): the artifact may be built from any repository")
	}
	if !v.logged {
		r.OptOuts = append(r.OptOuts, OptOutNoTlog)
	}
	r.OptOuts = append(r.OptOuts, p.optOuts()...)
	results := map[string]result{}

	st, detail, err := v.verifySignature(b)
	if err != nil {
		results[CheckSignature] = fail(fmt.Errorf("%w: %w", ErrSignature, err))
		if v.identity != nil {
			notRun := result{skipped: true, detail: "not run: the signature did not verify"}
			results[CheckCertIdentity], results[CheckCertSource] = notRun, notRun
		}
		return r.finish(results)
	}
	r.Statement = st
	results[CheckSignature] = pass(detail)
	if v.identity != nil {
		v.checkIdentity(b, st, results)
	}

	switch {
	case !v.logged:
		results[CheckTlog] = skip("not required (unsafe opt-out)")
	default:
		results[CheckTlog] = v.checkTlog(b)
	}
	checkStatement(st, b.GetDsseEnvelope().GetPayload(), p, results, r)
	r, err = r.finish(results)
	if r.Verified {
		r.BuildLevel = max(1, p.BuilderLevel)
		if len(r.OptOuts) > 0 {
			r.BuildLevel = 1
		}
	}
	return r, err
}

// verifySignature checks the envelope's shape and its signature, and returns the statement.
func (v *Verifier) verifySignature(b *bundle.Bundle) (*statement, string, error) {
	if b == nil || b.Bundle == nil {
		return nil, "", errors.New("no bundle")
	}
	if b.MediaType != spec.BundleMediaType {
		return nil, "", fmt.Errorf("bundle media type %q is not %s", b.MediaType, spec.BundleMediaType)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, "", errors.New("the bundle holds no DSSE envelope")
	}
	if env.PayloadType != spec.InTotoPayloadType {
		return nil, "", fmt.Errorf("payload type %q is not %s", env.PayloadType, spec.InTotoPayloadType)
	}
	if n := len(env.Signatures); n != 1 {
		return nil, "", fmt.Errorf("the envelope has %d signatures, want 1", n)
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, "", err
	}
	if vc.Certificate() != nil {
		return v.verifyCertificate(b)
	}
	if v.identity != nil {
		return nil, "", errors.New("the bundle is signed with a key, not a certificate: verify it with the builder's public key (--key)")
	}
	res, err := v.sig.Verify(b, sgverify.NewPolicy(sgverify.WithoutArtifactUnsafe(), sgverify.WithKey()))
	if err != nil {
		return nil, "", err
	}
	if res.Statement == nil {
		return nil, "", errors.New("the envelope holds no in-toto statement")
	}
	return res.Statement, "DSSE signature by the trusted key", nil
}

func (v *Verifier) checkTlog(b *bundle.Bundle) result {
	entries := b.GetVerificationMaterial().GetTlogEntries()
	if len(entries) == 0 {
		return fail(fmt.Errorf("%w: the bundle has none (log it with slsabox upload)", ErrNotLogged))
	}
	// The whole bundle first: every entry of a log the root names must be sound.
	if _, err := sgverify.VerifyTlogEntry(b, v.trusted, 1, false); err != nil {
		for _, x := range entries {
			if _, ok := v.logs[hex.EncodeToString(x.GetLogId().GetKeyId())]; ok {
				return fail(fmt.Errorf("%w: %w", ErrNotLogged, err))
			}
		}
		return fail(fmt.Errorf("%w: the bundle was logged to a log that the trusted root (%s) does not name (log id %x): give that log's trusted_root.json",
			ErrNotLogged, v.rootName, entries[0].GetLogId().GetKeyId()))
	}
	// Then the entry that is reported, and whose proof is compared with its checkpoint,
	// is one that verifies on its own: sigstore-go passes a bundle on the first good
	// entry and skips the others (a bad promise), so the first entry of a known log
	// need not be the one that was verified. With a single entry (what slsabox
	// writes) the whole-bundle check above verified exactly that entry: sigstore-go
	// counts only entries of a log the root names whose checks all passed, and the
	// threshold is 1. Verifying it again would repeat the same computation (a third
	// of a verification: the checkpoint's signature, the entry hash).
	var lastErr error
	for _, e := range entries {
		log, ok := v.logs[hex.EncodeToString(e.GetLogId().GetKeyId())]
		if !ok {
			continue
		}
		if len(entries) > 1 {
			if err := verifyOneEntry(b, e, v.trusted); err != nil {
				lastErr = err
				continue
			}
		}
		if err := proofMatchesCheckpoint(e); err != nil {
			lastErr = err
			continue
		}
		return pass(fmt.Sprintf("inclusion proof at index %d verified against the key of %s", e.GetLogIndex(), log.BaseURL))
	}
	if lastErr == nil {
		// Verified against a log the root names under another key id.
		return fail(fmt.Errorf("%w: no entry's log id is one the trusted root (%s) names (log id %x)", ErrNotLogged, v.rootName, entries[0].GetLogId().GetKeyId()))
	}
	return fail(fmt.Errorf("%w: %w", ErrNotLogged, lastErr))
}

// verifyOneEntry verifies the bundle with e as its only log entry.
func verifyOneEntry(b *bundle.Bundle, e *protorekor.TransparencyLogEntry, trusted root.TrustedMaterial) error {
	one, ok := proto.Clone(b.Bundle).(*protobundle.Bundle)
	if !ok || one.GetVerificationMaterial() == nil {
		return errors.New("the bundle cannot be copied")
	}
	one.VerificationMaterial.TlogEntries = []*protorekor.TransparencyLogEntry{e}
	ob, err := bundle.NewBundle(one)
	if err != nil {
		return err
	}
	_, err = sgverify.VerifyTlogEntry(ob, trusted, 1, false)
	return err
}

// rekorV1Origin is how a Rekor v1 checkpoint names its log ("HOST - TREEID").
var rekorV1Origin = regexp.MustCompile(`^.+ - [0-9]+$`)

// proofMatchesCheckpoint checks what Rekor v2 verification leaves unread: that the
// inclusion proof's own copies of the index, tree size and root hash agree with the
// entry and with the checkpoint whose signature was verified, and (v2) that the
// entry's canonicalized body is the leaf the proof proves. sigstore-go proves the
// leaf it rebuilds from the bundle, so a changed copy or body cannot forge a proof;
// but a bundle that says two things is refused like any other tampering.
func proofMatchesCheckpoint(e *protorekor.TransparencyLogEntry) error {
	p := e.GetInclusionProof()
	// A checkpoint's body: origin, tree size, base64 root hash, then optional lines.
	lines := strings.SplitN(p.GetCheckpoint().GetEnvelope(), "\n", 4)
	if len(lines) < 4 {
		return errors.New("the checkpoint is malformed")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return fmt.Errorf("the checkpoint's tree size %q: %w", lines[1], err)
	}
	hash, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil {
		return fmt.Errorf("the checkpoint's root hash: %w", err)
	}
	if p.GetTreeSize() < 0 || uint64(p.GetTreeSize()) != size || !bytes.Equal(hash, p.GetRootHash()) {
		return fmt.Errorf("the inclusion proof (tree size %d, root %x) does not match its signed checkpoint (tree size %d, root %x)",
			p.GetTreeSize(), p.GetRootHash(), size, hash)
	}
	if rekorV1Origin.MatchString(lines[0]) {
		// Rekor v1 checks the proof's fields and the body itself; its entries carry a
		// global index and their proofs the index in one shard's tree.
		return nil
	}
	if p.GetLogIndex() != e.GetLogIndex() || e.GetLogIndex() < 0 {
		return fmt.Errorf("the inclusion proof is for index %d, the entry has index %d", p.GetLogIndex(), e.GetLogIndex())
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(e.GetCanonicalizedBody())
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(e.GetLogIndex()), size, leaf, p.GetHashes(), hash); err != nil {
		return fmt.Errorf("the entry's canonicalized body is not the leaf the proof proves: %w", err)
	}
	return nil
}

// TrustedRoot says where the trusted root came from: a file path, "given" (a root
// passed as a value), the embedded public-good root, or "" when there is none.
func (v *Verifier) TrustedRoot() string { return v.rootName }

// result is a check's outcome before it is put in order.
type result struct {
	ok, skipped bool
	detail      string
	err         error
}

func pass(detail string) result { return result{ok: true, detail: detail} }
func skip(detail string) result { return result{ok: true, skipped: true, detail: detail} }
func fail(err error) result     { return result{err: err, detail: errDetail(err)} }

// errDetail is the error's message without the sentinel's prefix, on one line.
func errDetail(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	for _, e := range []error{ErrSignature, ErrNotLogged, ErrDigestMismatch, ErrUntrustedBuilder, ErrPolicy, ErrIdentity} {
		if p := e.Error() + ": "; len(s) > len(p) && s[:len(p)] == p {
			return s[len(p):]
		}
	}
	return s
}

func (r *Report) finish(results map[string]result) (*Report, error) {
	var first error
	nfailed := 0
	for _, name := range append(slices.Clip(checkOrder), keylessChecks...) {
		res, ok := results[name]
		if !ok && (name == CheckCertIdentity || name == CheckCertSource) {
			continue // a key-signed bundle has no certificate to check
		}
		if !ok {
			r.Checks = append(r.Checks, Check{Name: name, Skipped: true, Detail: "not run: the signature did not verify"})
			continue
		}
		r.Checks = append(r.Checks, Check{Name: name, OK: res.ok, Skipped: res.skipped, Detail: res.detail})
		if res.err != nil {
			nfailed++
			if first == nil {
				first = fmt.Errorf("%s: %w", name, res.err)
			}
		}
	}
	r.Verified = first == nil
	if nfailed > 1 {
		first = fmt.Errorf("%w (and %d more failed checks)", first, nfailed-1)
	}
	return r, first
}

// FileDigest returns the sha256 hex of a file, the digest a Policy wants.
func FileDigest(path string) (string, error) { return filehash.SHA256(path) }
