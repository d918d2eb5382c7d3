// Command keylesspki makes the certificate authorities of the local keyless stack
// (scripts/keyless.sh) once, in a directory that is kept across runs:
//
//	fulcio-ca.pem, fulcio-ca.key   Fulcio's self-signed root (fileca), its key encrypted
//	                               (PKCS#8, PBES2) with the password in fulcio-ca.pass
//	tsa-chain.pem, tsa.key         the timestamp authority's chain (leaf, then root) and the
//	                               leaf's key; the leaf has one critical timeStamping EKU,
//	                               as RFC 3161 and timestamp-authority's file signer want
//	created                        when they were made (the start of their validity in the
//	                               trusted root)
//
//	keylesspki -dir DIR
//
// Existing files are never replaced: old bundles chain to these roots.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/youmark/pkcs8"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("keylesspki", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "`directory` to write the CA material to (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: keylesspki -dir DIR")
		return 2
	}
	if err := ensure(*dir, time.Now().UTC().Truncate(time.Second)); err != nil {
		fmt.Fprintf(stderr, "keylesspki: error: %v\n", err)
		return 1
	}
	return 0
}

var outputs = []string{"fulcio-ca.pem", "fulcio-ca.key", "fulcio-ca.pass", "tsa-chain.pem", "tsa.key", "created"}

// ensure writes the material unless it is all there; a partial set is an error,
// since replacing one half would orphan bundles made with the other.
func ensure(dir string, now time.Time) error {
	n := 0
	for _, f := range outputs {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			n++
		}
	}
	switch n {
	case len(outputs):
		return nil
	case 0:
	default:
		return fmt.Errorf("%s holds only part of the CA material (%d of %v): restore the missing files or move the directory away to make new CAs", dir, n, outputs)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	files, err := generate(now)
	if err != nil {
		return err
	}
	// "created" last: its presence means the set is complete.
	for _, f := range outputs {
		if err := os.WriteFile(filepath.Join(dir, f), files[f], 0o600); err != nil {
			return err
		}
	}
	return nil
}

func generate(now time.Time) (map[string][]byte, error) {
	files := map[string][]byte{}
	// Fulcio's root: a CA that signs code-signing leaves (no EKU on the root, so any).
	caKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ca := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "slsabox local fulcio", Organization: []string{"slsabox test"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	pass := make([]byte, 24)
	if _, err := rand.Read(pass); err != nil {
		return nil, err
	}
	password := []byte(hex.EncodeToString(pass))
	encKey, err := pkcs8.MarshalPrivateKey(caKey, password, nil)
	if err != nil {
		return nil, err
	}
	files["fulcio-ca.pem"] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	files["fulcio-ca.key"] = pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: encKey})
	files["fulcio-ca.pass"] = password

	// The TSA: a root and a leaf whose only EKU, critical, is timeStamping.
	rootKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tsaRoot := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "slsabox local tsa root", Organization: []string{"slsabox test"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, tsaRoot, tsaRoot, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	rootCert, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		return nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "slsabox local tsa", Organization: []string{"slsabox test"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, rootCert, &leafKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	leafPKCS8, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		return nil, err
	}
	files["tsa-chain.pem"] = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER})...)
	files["tsa.key"] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: leafPKCS8})
	files["created"] = []byte(now.Format(time.RFC3339) + "\n")
	return files, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err)
	}
	return n
}
