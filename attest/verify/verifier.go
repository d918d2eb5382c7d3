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
	"sync"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"google.golang.org/protobuf/proto"

	"github.com/slsabox/slsabox/attest/spec"
)

// Verifier holds trust material: a public key for key-signed bundles, and a trusted
// root whose logs prove bundles were logged and whose certificate authorities (Fulcio)
// vouch for keyless ones. Who must have signed a keyless bundle is the Policy's
// CertificateIdentity, checked per Verify. It is safe for concurrent use.
type Verifier struct {
	trusted   root.TrustedMaterial // everything, for the log proof
	sig       *sgverify.Verifier   // key-signed bundles; nil without a public key
	cert      *sgverify.Verifier   // keyless bundles; nil without a Fulcio CA (keyless.go)
	certNoLog *sgverify.Verifier   // keyless: the signature of an unlogged bundle
	logs      map[string]*root.TransparencyLog
	logged    bool   // a log proof is required
	rootName  string // where the trusted root came from, for reports
	warnings  []string
	certWarn  []string // warnings of keyless bundles only
}

// New builds a Verifier. It needs a public key (WithPublicKey: key-signed bundles, what
// slsabox build --key writes) or a trusted root naming a Fulcio CA (keyless bundles),
// or both, and, unless WithoutTransparencyLogUnsafe, a trusted root holding the log's
// key. Each option rejects a bad value; New then checks that they make sense together.
func New(opts ...Option) (*Verifier, error) {
	var c config
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	keyless := c.root != nil && len(c.root.FulcioCertificateAuthorities()) > 0
	switch {
	case c.key == nil && c.root == nil:
		return nil, fmt.Errorf("%w: no public key and no trusted root: pass the key the builder signs with (or, for keyless bundles, the trusted root naming the Fulcio CA)", ErrTrustMaterial)
	case c.key == nil && !keyless:
		return nil, fmt.Errorf("%w: no public key, and the trusted root (%s) names no certificate authority (Fulcio) for keyless bundles: pass the key the builder signs with", ErrTrustMaterial, c.rootName)
	case c.root == nil && !c.noTlog:
		return nil, fmt.Errorf("%w: no trusted root: a log proof cannot be checked without the log's key (or opt out with WithoutTransparencyLogUnsafe)", ErrTrustMaterial)
	case c.root != nil && !c.noTlog && len(c.root.RekorLogs()) == 0:
		return nil, fmt.Errorf("%w: the trusted root (%s) names no transparency log: give the root of the log the bundles are logged to", ErrTrustMaterial, c.rootName)
	}
	v := &Verifier{logged: !c.noTlog, rootName: c.rootName}
	var trusted root.TrustedMaterialCollection
	if c.root != nil {
		trusted = append(trusted, c.root)
		v.logs = c.root.RekorLogs()
	}
	if c.key != nil {
		keys, err := keyMaterial(c.key)
		if err != nil {
			return nil, fmt.Errorf("%w: public key: %w", ErrTrustMaterial, err)
		}
		trusted = append(trusted, keys)
		if v.sig, err = sgverify.NewVerifier(trusted, sgverify.WithCurrentTime()); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTrustMaterial, err)
		}
	}
	v.trusted = trusted
	if keyless {
		if err := v.initKeyless(c.root); err != nil {
			return nil, err
		}
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
// sentinel of the first failed check (ErrInvalidPolicy if the policy is incomplete,
// or names no CertificateIdentity for a keyless bundle).
func (v *Verifier) Verify(b *bundle.Bundle, p Policy) (*Report, error) {
	r := &Report{Warnings: append([]string(nil), v.warnings...)}
	p, err := p.validate()
	r.Digest = p.Digest
	if err != nil {
		return r, err
	}
	var certID *sgverify.CertificateIdentity
	if p.CertificateIdentity != nil {
		if certID, err = p.CertificateIdentity.matcher(); err != nil {
			return r, err
		}
	}
	keyless := carriesCertificate(b)
	if keyless && certID == nil && (v.sig != nil || v.cert == nil) {
		// Verification with a key (the caller trusts a key, not an identity): the
		// bundle is simply not signed by it.
		r.OptOuts = append(r.OptOuts, p.optOuts()...)
		return r.finish(map[string]result{CheckSignature: failf(ErrSignature,
			"the bundle is signed keyless (it carries a Fulcio certificate), not with the trusted key: verify it by certificate identity and OIDC issuer")})
	}
	if keyless && certID == nil {
		return r, fmt.Errorf("%w: the bundle is signed keyless (a Fulcio certificate names who signed): the policy must name the certificate identity and OIDC issuer you trust (certificateIdentity in a policy file, --certificate-identity and --certificate-oidc-issuer)", ErrInvalidPolicy)
	}
	if p.AllowAnyBuilderUnsafe {
		r.Warnings = append(r.Warnings, "builder id not checked (unsafe opt-out): any holder of the key can claim to be the builder")
	}
	if p.AllowAnySourceUnsafe {
		r.Warnings = append(r.Warnings, "source uri not checked (unsafe opt-out): the artifact may be built from any repository")
	}
	if keyless {
		r.Warnings = append(r.Warnings, v.certWarn...)
	}
	if !v.logged {
		r.OptOuts = append(r.OptOuts, OptOutNoTlog)
	}
	r.OptOuts = append(r.OptOuts, p.optOuts()...)
	results := map[string]result{}

	st, detail, err := v.verifySignature(b, certID != nil)
	if err != nil {
		results[CheckSignature] = fail(ErrSignature, err)
		if certID != nil {
			notRun := result{skipped: true, detail: "not run: the signature did not verify"}
			results[CheckCertIdentity], results[CheckCertSource] = notRun, notRun
		}
		return r.finish(results)
	}
	r.Statement = st
	results[CheckSignature] = pass(detail)
	if certID != nil {
		checkIdentity(b, st, p.CertificateIdentity, certID, results)
	}

	switch {
	case !v.logged:
		results[CheckTlog] = skip("not required (unsafe opt-out)")
	default:
		results[CheckTlog] = v.checkTlog(b)
	}
	checkStatement(st, p, results, r)
	r, err = r.finish(results)
	if r.Verified {
		r.BuildLevel = max(1, p.BuilderLevel)
		if len(r.OptOuts) > 0 {
			r.BuildLevel = 1
		}
	}
	return r, err
}

// carriesCertificate says whether the bundle is keyless: its verification material is
// a certificate rather than a key hint.
func carriesCertificate(b *bundle.Bundle) bool {
	if b == nil || b.Bundle == nil {
		return false
	}
	vc, err := b.VerificationContent()
	return err == nil && vc.Certificate() != nil
}

// verifySignature checks the envelope's shape and its signature, and returns the
// statement. wantCert says the policy names a certificate identity, which a
// key-signed bundle cannot meet.
func (v *Verifier) verifySignature(b *bundle.Bundle, wantCert bool) (*statement, string, error) {
	if b == nil || b.Bundle == nil {
		return nil, "", errors.New("no bundle")
	}
	if b.MediaType != spec.BundleMediaType {
		// Other builders write older bundle versions (npm: v0.1 and v0.2). sigstore-go's
		// parser checks each version's rules (v0.1 needs an inclusion promise, v0.2 a
		// proof); a bundle built in memory has not been through it, so check again.
		if _, err := bundle.NewBundle(b.Bundle); err != nil {
			return nil, "", fmt.Errorf("bundle media type %q: %w", b.MediaType, err)
		}
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
	res, by, err := v.signedBy(b, sgverify.WithoutArtifactUnsafe(), wantCert)
	if err != nil {
		return nil, "", err
	}
	if res.Statement == nil {
		return nil, "", errors.New("the envelope holds no in-toto statement")
	}
	return res.Statement, "DSSE signature " + by, nil
}

func (v *Verifier) checkTlog(b *bundle.Bundle) result {
	entries := b.GetVerificationMaterial().GetTlogEntries()
	if len(entries) == 0 {
		return failf(ErrNotLogged, "the bundle has none (log it with slsabox upload)")
	}
	// The whole bundle first: every entry of a log the root names must be sound.
	if _, err := sgverify.VerifyTlogEntry(b, v.trusted, 1, false); err != nil {
		for _, x := range entries {
			if _, ok := v.logs[hex.EncodeToString(x.GetLogId().GetKeyId())]; ok {
				return fail(ErrNotLogged, err)
			}
		}
		return failf(ErrNotLogged, "the bundle was logged to a log that the trusted root (%s) does not name (log id %x): give that log's trusted_root.json", v.rootName, entries[0].GetLogId().GetKeyId())
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
		if e.GetInclusionProof() == nil {
			// Only a v0.1 bundle may hold the log's signed promise (SET) without a proof,
			// and the check above verified it. sigstore-go's parser refuses one in later
			// versions, but a bundle built in memory has not been through the parser.
			if ver, err := b.Version(); err != nil || ver != "v0.1" {
				lastErr = fmt.Errorf("the entry at index %d has no inclusion proof, which a bundle of version 0.2 or later must carry (a signed promise alone is accepted only in v0.1)", e.GetLogIndex())
				continue
			}
			return pass(fmt.Sprintf("signed inclusion promise at index %d verified against the key of %s", e.GetLogIndex(), log.BaseURL))
		}
		if err := proofMatchesCheckpoint(e); err != nil {
			lastErr = err
			continue
		}
		return pass(fmt.Sprintf("inclusion proof at index %d verified against the key of %s", e.GetLogIndex(), log.BaseURL))
	}
	if lastErr == nil {
		// Verified against a log the root names under another key id.
		return failf(ErrNotLogged, "no entry's log id is one the trusted root (%s) names (log id %x)", v.rootName, entries[0].GetLogId().GetKeyId())
	}
	return fail(ErrNotLogged, lastErr)
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
var rekorV1Origin = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^.+ - [0-9]+$`) })

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
	if rekorV1Origin().MatchString(lines[0]) {
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

// result is a check's outcome before it is put in order. A failure keeps its class
// apart from its cause, so that the error Verify returns has the class first.
type result struct {
	ok, skipped bool
	detail      string
	class, err  error // a failure's class (ErrSignature...) and cause
}

func pass(detail string) result { return result{ok: true, detail: detail} }
func skip(detail string) result { return result{ok: true, skipped: true, detail: detail} }

// fail is a failure of class because of cause; the report shows the cause on one line.
func fail(class, cause error) result {
	return result{class: class, err: cause, detail: strings.Join(strings.Fields(cause.Error()), " ")}
}

func failf(class error, format string, a ...any) result { return fail(class, fmt.Errorf(format, a...)) }

func (r *Report) finish(results map[string]result) (*Report, error) {
	return r.finishIn(append(slices.Clip(checkOrder), keylessChecks...), results)
}

// finishIn lists the checks named in order (a keyless check only if it ran) and
// returns the error of the first that failed.
func (r *Report) finishIn(order []string, results map[string]result) (*Report, error) {
	var first error
	nfailed := 0
	for _, name := range order {
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
				first = fmt.Errorf("%w: %s: %w", res.class, name, res.err)
			}
		}
	}
	r.Verified = first == nil
	if nfailed > 1 {
		first = fmt.Errorf("%w (and %d more failed checks)", first, nfailed-1)
	}
	return r, first
}
