package attest

import (
	"context"
	"errors"
	"fmt"

	intoto "github.com/in-toto/attestation/go/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/slsabox/slsabox/attest/spec"
	"github.com/slsabox/slsabox/internal/atomicfile"
)

// BundleFile is the name of the bundle slsabox writes next to the artifacts.
const BundleFile = "provenance.sigstore.json"

// SBOMBundleFile is the name of the signed SBOM's bundle beside it.
const SBOMBundleFile = "sbom.sigstore.json"

// signConfig is what a bundle carries beyond the signature.
type signConfig struct {
	logs []sign.Transparency
	tsas []*sign.TimestampAuthority
}

// SignOption adds to the bundle what the signature alone does not give. It rejects a
// bad value with an ErrSign error, and Sign fails with it.
type SignOption func(*signConfig) error

// WithTransparencyLog logs the signed envelope to tl; the bundle holds the entry and
// its proof. Each log given adds one.
func WithTransparencyLog(tl sign.Transparency) SignOption {
	return func(c *signConfig) error {
		if tl == nil {
			return fmt.Errorf("%w: nil transparency log: pass a log client (NewRekor) or leave the option out", ErrSign)
		}
		c.logs = append(c.logs, tl)
		return nil
	}
}

// WithTimestampAuthority adds an RFC 3161 timestamp over the signature from tsa (what
// a keyless bundle logged to Rekor v2 needs). Each authority given adds one.
func WithTimestampAuthority(tsa *sign.TimestampAuthority) SignOption {
	return func(c *signConfig) error {
		if tsa == nil {
			return fmt.Errorf("%w: nil timestamp authority: pass sign.NewTimestampAuthority's or leave the option out", ErrSign)
		}
		c.tsas = append(c.tsas, tsa)
		return nil
	}
}

// Sign signs the statement as a DSSE envelope (payload type application/vnd.in-toto+json,
// one signature with an empty keyid, as cosign requires) and returns a Sigstore bundle
// v0.3 holding it.
func Sign(ctx context.Context, st *intoto.Statement, signer Signer, opts ...SignOption) (*bundle.Bundle, error) {
	payload, err := MarshalStatement(st)
	if err != nil {
		return nil, err
	}
	return SignPayload(ctx, payload, signer, opts...)
}

// SignPayload is Sign for a statement already encoded.
func SignPayload(ctx context.Context, payload []byte, signer Signer, opts ...SignOption) (*bundle.Bundle, error) {
	var c signConfig
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	bo := sign.BundleOptions{
		Context:          ctx,
		TransparencyLogs: c.logs,
	}
	if cs, ok := signer.(CertifyingSigner); ok {
		bo.CertificateProvider, bo.CertificateProviderOptions = cs.CertificateProvider()
	}
	pb, err := sign.Bundle(&sign.DSSEData{Data: payload, PayloadType: spec.InTotoPayloadType}, signer, bo)
	if err != nil {
		if errors.Is(err, ErrIdentityToken) || errors.Is(err, ErrCertificateRefused) || errors.Is(err, ErrCertificateUnavailable) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrSign, err)
	}
	// Timestamps are asked for here rather than by sign.Bundle, so that a TSA outage
	// is told apart from other failures.
	for _, tsa := range c.tsas {
		ts, err := tsa.GetTimestamp(ctx, pb.GetDsseEnvelope().GetSignatures()[0].GetSig())
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTimestampUnavailable, err)
		}
		vm := pb.GetVerificationMaterial()
		if vm.TimestampVerificationData == nil {
			vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		}
		vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps,
			&protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("%w: the bundle made is not valid: %w", ErrSign, err)
	}
	return b, nil
}

// MarshalBundle returns the bundle's JSON (protojson, compacted for stable output).
func MarshalBundle(b *bundle.Bundle) ([]byte, error) {
	out, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(b.Bundle)
	if err != nil {
		return nil, fmt.Errorf("encoding bundle: %w", err)
	}
	return append(out, '\n'), nil
}

// ParseBundle decodes and validates a bundle's JSON.
func ParseBundle(data []byte) (*bundle.Bundle, error) {
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(data, &pb); err != nil {
		return nil, fmt.Errorf("not a Sigstore bundle: %w", err)
	}
	b, err := bundle.NewBundle(&pb)
	if err != nil {
		return nil, fmt.Errorf("invalid Sigstore bundle: %w", err)
	}
	return b, nil
}

// WriteBundle writes the bundle to path atomically: a reader sees the old file or the
// complete new one, never a part, even if the process dies mid-write.
func WriteBundle(path string, b *bundle.Bundle) error {
	data, err := MarshalBundle(b)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o644)
}
