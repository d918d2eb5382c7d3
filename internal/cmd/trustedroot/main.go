// Command trustedroot writes a Sigstore trusted root (trusted_root.json) that holds
// one transparency log, so that bundles logged there verify offline with
// sigstore-go or cosign --trusted-root.
//
//	go run ./internal/cmd/trustedroot -log-url http://127.0.0.1:3410 \
//	    -log-key KEY.pem -out trusted_root.json [-origin 127.0.0.1] [-start RFC3339]
//
// The key is the log's ECDSA key, as a public key or a private key PEM (the
// public half is taken). The log id is sha256 of its DER public key, which is
// what Rekor v2 puts in its entries for an ECDSA key. A Rekor v2 verifier takes
// the checkpoint origin from the host of -log-url, so -origin, when given, must
// equal that host. The key's validity starts at -start (default: the key file's
// modification time); pass the same time on every run so that the file does not
// change and old entries stay inside it.
//
// For keyless signing it also takes a certificate authority and a timestamp
// authority (scripts/keyless.sh passes its local Fulcio and TSA):
//
//	-fulcio-url URL -fulcio-ca CHAIN.pem   Fulcio's chain, intermediates first, root last
//	-tsa-url URL -tsa-chain CHAIN.pem      the TSA's chain, leaf first, root last
//	-ct-url URL -ct-key KEY.pem            a certificate transparency log (its ECDSA key),
//	                                       whose SCTs Fulcio embeds in certificates
package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/slsabox/slsabox/internal/atomicfile"
)

// mediaType is the only trusted root version sigstore-go v1.3.0 reads.
const mediaType = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	logURL string
	keyPEM []byte
	origin string
	start  time.Time
	// Optional keyless trust: PEM chains and the services' URLs.
	fulcioURL, tsaURL string
	fulcioPEM, tsaPEM []byte
	ctURL             string
	ctKeyPEM          []byte
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("trustedroot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var logURL, keyPath, out, origin, start string
	fs.StringVar(&logURL, "log-url", "", "base `URL` of the log, e.g. http://127.0.0.1:3410 (required)")
	fs.StringVar(&keyPath, "log-key", "", "`PEM` file with the log's ECDSA public or private key (required)")
	fs.StringVar(&out, "out", "", "output `path`, - for stdout (required)")
	fs.StringVar(&origin, "origin", "", "the log's checkpoint origin (its --hostname); checked against the host of -log-url")
	fs.StringVar(&start, "start", "", "`RFC3339` time from which the key is valid (default: the key file's modification time)")
	var fulcioURL, fulcioCA, tsaURL, tsaChain, ctURL, ctKey string
	fs.StringVar(&ctURL, "ct-url", "", "a certificate transparency log's `URL` (with -ct-key)")
	fs.StringVar(&ctKey, "ct-key", "", "`PEM` file with the CT log's ECDSA public or private key")
	fs.StringVar(&fulcioURL, "fulcio-url", "", "Fulcio's `URL` (with -fulcio-ca)")
	fs.StringVar(&fulcioCA, "fulcio-ca", "", "`PEM` file with Fulcio's chain, root last, for keyless verification")
	fs.StringVar(&tsaURL, "tsa-url", "", "the timestamp authority's `URL` (with -tsa-chain)")
	fs.StringVar(&tsaChain, "tsa-chain", "", "`PEM` file with the timestamp authority's chain, leaf first, root last")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: trustedroot -log-url URL -log-key KEY.pem -out PATH [-origin HOST] [-start RFC3339]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "trustedroot: error: unexpected argument %q\n", fs.Arg(0))
		return 2
	case logURL == "" || keyPath == "" || out == "":
		fmt.Fprintln(stderr, "trustedroot: error: missing -log-url, -log-key or -out")
		fs.Usage()
		return 2
	case (fulcioURL == "") != (fulcioCA == "") || (tsaURL == "") != (tsaChain == "") || (ctURL == "") != (ctKey == ""):
		fmt.Fprintln(stderr, "trustedroot: error: -fulcio-url and -fulcio-ca go together, and so do -tsa-url and -tsa-chain, and -ct-url and -ct-key")
		return 2
	}

	opts := options{logURL: logURL, origin: origin, fulcioURL: fulcioURL, tsaURL: tsaURL, ctURL: ctURL}
	var err error
	if ctKey != "" {
		if opts.ctKeyPEM, err = os.ReadFile(ctKey); err != nil {
			return fail(stderr, fmt.Errorf("reading CT log key: %w", err))
		}
	}
	if fulcioCA != "" {
		if opts.fulcioPEM, err = os.ReadFile(fulcioCA); err != nil {
			return fail(stderr, fmt.Errorf("reading Fulcio chain: %w", err))
		}
	}
	if tsaChain != "" {
		if opts.tsaPEM, err = os.ReadFile(tsaChain); err != nil {
			return fail(stderr, fmt.Errorf("reading TSA chain: %w", err))
		}
	}
	if opts.keyPEM, err = os.ReadFile(keyPath); err != nil {
		return fail(stderr, fmt.Errorf("reading log key: %w", err))
	}
	if start == "" {
		fi, err := os.Stat(keyPath)
		if err != nil {
			return fail(stderr, fmt.Errorf("reading log key: %w", err))
		}
		opts.start = fi.ModTime()
	} else if opts.start, err = time.Parse(time.RFC3339, start); err != nil {
		return fail(stderr, fmt.Errorf("-start %q is not an RFC3339 time such as 2026-01-02T15:04:05Z", start))
	}

	data, err := trustedRoot(opts)
	if err != nil {
		return fail(stderr, err)
	}
	if out == "-" {
		_, err = stdout.Write(data)
	} else {
		err = atomicfile.Write(out, data, 0o644) // a verifier never reads half a root
	}
	if err != nil {
		return fail(stderr, fmt.Errorf("writing trusted root: %w", err))
	}
	return 0
}

func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "trustedroot: error: %v\n", err)
	return 1
}

// trustedRoot returns the JSON of a trusted root with the one log of opts,
// indented and stable: the same options give the same bytes.
func trustedRoot(opts options) ([]byte, error) {
	u, err := url.Parse(opts.logURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("-log-url %q is not an http(s) URL with a host", opts.logURL)
	}
	if opts.origin != "" && opts.origin != u.Hostname() {
		return nil, fmt.Errorf("-log-url host %q differs from the log's origin %q: verifiers check checkpoints against the URL's host, so use %s://%s:PORT",
			u.Hostname(), opts.origin, u.Scheme, opts.origin)
	}
	pub, err := parseKey(opts.keyPEM)
	if err != nil {
		return nil, err
	}
	details, err := keyDetails(pub)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding log key: %w", err)
	}
	logID := sha256.Sum256(der)

	tr := &prototrustroot.TrustedRoot{
		MediaType: mediaType,
		Tlogs: []*prototrustroot.TransparencyLogInstance{{
			BaseUrl:       strings.TrimSuffix(opts.logURL, "/"),
			HashAlgorithm: protocommon.HashAlgorithm_SHA2_256,
			PublicKey: &protocommon.PublicKey{
				RawBytes:   der,
				KeyDetails: details,
				ValidFor:   &protocommon.TimeRange{Start: timestamppb.New(opts.start.UTC().Truncate(time.Second))},
			},
			LogId: &protocommon.LogId{KeyId: logID[:]},
		}},
	}
	if opts.fulcioPEM != nil {
		ca, err := authority(opts.fulcioURL, opts.fulcioPEM, opts.start, "Fulcio")
		if err != nil {
			return nil, err
		}
		tr.CertificateAuthorities = append(tr.CertificateAuthorities, ca)
	}
	if opts.tsaPEM != nil {
		tsa, err := authority(opts.tsaURL, opts.tsaPEM, opts.start, "TSA")
		if err != nil {
			return nil, err
		}
		if len(tsa.CertChain.Certificates) < 2 {
			return nil, errors.New("the TSA chain needs the leaf and its root (leaf first)")
		}
		tr.TimestampAuthorities = append(tr.TimestampAuthorities, tsa)
	}
	if opts.ctKeyPEM != nil {
		ct, err := ctLog(opts.ctURL, opts.ctKeyPEM, opts.start)
		if err != nil {
			return nil, err
		}
		tr.Ctlogs = append(tr.Ctlogs, ct)
	}
	raw, err := protojson.Marshal(tr)
	if err != nil {
		return nil, fmt.Errorf("encoding trusted root: %w", err)
	}
	// protojson varies its whitespace on purpose; re-indenting makes the file stable.
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return nil, fmt.Errorf("encoding trusted root: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func parseKey(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("log key is not PEM; pass the log's key file (PUBLIC KEY, PRIVATE KEY or EC PRIVATE KEY)")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing log public key: %w", err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing log private key: %w", err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("log private key of type %T has no public key", k)
		}
		return s.Public(), nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing log private key: %w", err)
		}
		return k.Public(), nil
	default:
		return nil, fmt.Errorf("log key has PEM type %q; pass a PUBLIC KEY, PRIVATE KEY or EC PRIVATE KEY", block.Type)
	}
}

// keyDetails accepts ECDSA keys only: for them the log id is sha256 of the DER
// key, while Ed25519 and RSA logs derive it from the origin too.
func keyDetails(pub crypto.PublicKey) (protocommon.PublicKeyDetails, error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return 0, fmt.Errorf("log key is %T; only ECDSA log keys (P-256, P-384, P-521) are supported", pub)
	}
	switch k.Curve {
	case elliptic.P256():
		return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, nil
	case elliptic.P384():
		return protocommon.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384, nil
	case elliptic.P521():
		return protocommon.PublicKeyDetails_PKIX_ECDSA_P521_SHA_512, nil
	default:
		return 0, fmt.Errorf("log key uses curve %s; use P-256, P-384 or P-521", k.Curve.Params().Name)
	}
}

// authority reads a PEM chain into a trusted root's certificate authority entry.
func authority(uri string, chainPEM []byte, start time.Time, what string) (*prototrustroot.CertificateAuthority, error) {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s URL %q is not an http(s) URL with a host", what, uri)
	}
	var chain []*protocommon.X509Certificate
	var first *x509.Certificate
	for rest := chainPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s chain holds a %q PEM block; it must hold certificates only", what, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s chain: %w", what, err)
		}
		if first == nil {
			first = c
		}
		chain = append(chain, &protocommon.X509Certificate{RawBytes: block.Bytes})
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s chain holds no PEM certificate", what)
	}
	return &prototrustroot.CertificateAuthority{
		Subject: &protocommon.DistinguishedName{
			Organization: strings.Join(first.Subject.Organization, ", "),
			CommonName:   first.Subject.CommonName,
		},
		Uri:       strings.TrimSuffix(uri, "/"),
		CertChain: &protocommon.X509CertificateChain{Certificates: chain},
		ValidFor:  &protocommon.TimeRange{Start: timestamppb.New(start.UTC().Truncate(time.Second))},
	}, nil
}

// ctLog is a trusted root's entry for an RFC 6962 log: its log id is sha256 of its DER
// public key, as in the SCTs it signs.
func ctLog(uri string, keyPEM []byte, start time.Time) (*prototrustroot.TransparencyLogInstance, error) {
	if u, err := url.Parse(uri); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-ct-url %q is not an http(s) URL with a host", uri)
	}
	pub, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("CT log key: %w", err)
	}
	details, err := keyDetails(pub)
	if err != nil {
		return nil, fmt.Errorf("CT log key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256(der)
	return &prototrustroot.TransparencyLogInstance{
		BaseUrl:       strings.TrimSuffix(uri, "/"),
		HashAlgorithm: protocommon.HashAlgorithm_SHA2_256,
		PublicKey: &protocommon.PublicKey{RawBytes: der, KeyDetails: details,
			ValidFor: &protocommon.TimeRange{Start: timestamppb.New(start.UTC().Truncate(time.Second))}},
		LogId: &protocommon.LogId{KeyId: id[:]},
	}, nil
}
