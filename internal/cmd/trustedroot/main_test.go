package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

var update = flag.Bool("update", false, "rewrite testdata/trusted_root.golden.json")

// TestGolden pins the file's exact bytes: the script rewrites it on every start,
// and it must not change while the key and start stay the same.
func TestGolden(t *testing.T) {
	out := filepath.Join(t.TempDir(), "trusted_root.json")
	var stderr bytes.Buffer
	code := run([]string{"-log-url", "http://127.0.0.1:3410", "-origin", "127.0.0.1",
		"-log-key", "testdata/log.pub", "-start", "2026-01-02T03:04:05Z", "-out", out}, &bytes.Buffer{}, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "trusted_root.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("trusted root differs from %s (go test -update to accept):\n%s", golden, got)
	}
}

func TestLoadsInSigstoreGo(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, block := range []*pem.Block{
		{Type: "PUBLIC KEY", Bytes: der},
		{Type: "PRIVATE KEY", Bytes: pkcs8},
		{Type: "EC PRIVATE KEY", Bytes: sec1},
	} {
		t.Run(block.Type, func(t *testing.T) {
			keyPath := filepath.Join(dir, "key.pem")
			if err := os.WriteFile(keyPath, pem.EncodeToMemory(block), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run([]string{"-log-url", "http://localhost:3410/", "-log-key", keyPath,
				"-start", start.Format(time.RFC3339), "-out", "-"}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			tr, err := root.NewTrustedRootFromJSON(stdout.Bytes())
			if err != nil {
				t.Fatalf("sigstore-go rejects the trusted root: %v", err)
			}
			id := sha256.Sum256(der)
			tlog, ok := tr.RekorLogs()[hex.EncodeToString(id[:])]
			if !ok {
				t.Fatalf("no log with id sha256(DER key) in %v", tr.RekorLogs())
			}
			if tlog.BaseURL != "http://localhost:3410" {
				t.Errorf("BaseURL = %q, want http://localhost:3410", tlog.BaseURL)
			}
			if pk, ok := tlog.PublicKey.(*ecdsa.PublicKey); !ok || !pk.Equal(key.Public()) {
				t.Errorf("public key = %v, want the log's", tlog.PublicKey)
			}
			if !tlog.ValidityPeriodStart.Equal(start) || !tlog.ValidityPeriodEnd.IsZero() {
				t.Errorf("validity = %v..%v, want %v..(open)", tlog.ValidityPeriodStart, tlog.ValidityPeriodEnd, start)
			}
		})
	}
}

func TestDefaultStartIsKeyModTime(t *testing.T) {
	keyPath := filepath.Join(t.TempDir(), "log.pub")
	pub, err := os.ReadFile("testdata/log.pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2025, 12, 31, 23, 59, 58, 0, time.UTC)
	if err := os.Chtimes(keyPath, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-log-url", "http://127.0.0.1:3410", "-log-key", keyPath, "-out", "-"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	tr, err := root.NewTrustedRootFromJSON(stdout.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, tlog := range tr.RekorLogs() {
		if !tlog.ValidityPeriodStart.Equal(mtime) {
			t.Errorf("start = %v, want the key's mtime %v", tlog.ValidityPeriodStart, mtime)
		}
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edDER, err := x509.MarshalPKCS8PrivateKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p224DER, err := x509.MarshalPKIXPublicKey(p224.Public())
	if err != nil {
		t.Fatal(err)
	}
	ed := write("ed.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER}))
	small := write("p224.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p224DER}))
	notPEM := write("key.der", []byte("not a key"))
	cert := write("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}))
	good := "testdata/log.pub"

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"missing flags", []string{"-log-url", "http://127.0.0.1:3410"}, 2, "missing -log-url, -log-key or -out"},
		{"extra argument", []string{"-log-url", "http://x", "-log-key", good, "-out", "-", "more"}, 2, `unexpected argument "more"`},
		{"no key file", []string{"-log-url", "http://x", "-log-key", filepath.Join(dir, "nope"), "-out", "-"}, 1, "reading log key"},
		{"bad start", []string{"-log-url", "http://x", "-log-key", good, "-start", "yesterday", "-out", "-"}, 1, "not an RFC3339 time"},
		{"relative url", []string{"-log-url", "127.0.0.1:3410", "-log-key", good, "-out", "-"}, 1, "not an http(s) URL with a host"},
		{"no host", []string{"-log-url", "http:///x", "-log-key", good, "-out", "-"}, 1, "not an http(s) URL with a host"},
		{"origin mismatch", []string{"-log-url", "http://localhost:3410", "-origin", "127.0.0.1", "-log-key", good, "-out", "-"}, 1,
			`host "localhost" differs from the log's origin "127.0.0.1"`},
		{"not PEM", []string{"-log-url", "http://x", "-log-key", notPEM, "-out", "-"}, 1, "log key is not PEM"},
		{"certificate", []string{"-log-url", "http://x", "-log-key", cert, "-out", "-"}, 1, `PEM type "CERTIFICATE"`},
		{"ed25519", []string{"-log-url", "http://x", "-log-key", ed, "-out", "-"}, 1, "only ECDSA log keys"},
		{"P-224", []string{"-log-url", "http://x", "-log-key", small, "-out", "-"}, 1, "curve P-224"},
		{"unwritable out", []string{"-log-url", "http://x", "-log-key", good, "-out", filepath.Join(dir, "no", "dir.json")}, 1, "writing trusted root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing on failure", stdout.String())
			}
		})
	}
}

// TestKeylessAuthorities: with a Fulcio chain and a TSA chain the root loads in
// sigstore-go with one certificate authority and one timestamping authority.
func TestKeylessAuthorities(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	keyPath := filepath.Join(dir, "log.pub")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert := func(ca bool, parent *x509.Certificate, signer *ecdsa.PrivateKey, pub *ecdsa.PublicKey, eku []x509.ExtKeyUsage) (*x509.Certificate, []byte) {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "test", Organization: []string{"o"}},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: ca, BasicConstraintsValid: true, ExtKeyUsage: eku}
		if ca {
			tmpl.KeyUsage = x509.KeyUsageCertSign
		}
		if parent == nil {
			parent = tmpl
		}
		d, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(d)
		return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})
	}
	ca, rootPEM := cert(true, nil, key, &key.PublicKey, nil)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, leafPEM := cert(false, ca, key, &leafKey.PublicKey, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping})
	caPath, tsaPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "tsa.pem")
	if err := os.WriteFile(caPath, rootPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tsaPath, append(leafPEM, rootPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "root.json")
	var stderr bytes.Buffer
	args := []string{"-log-url", "http://127.0.0.1:3475", "-log-key", keyPath, "-start", "2026-01-02T03:04:05Z", "-out", out,
		"-fulcio-url", "http://127.0.0.1:3471", "-fulcio-ca", caPath, "-tsa-url", "http://127.0.0.1:3474/api/v1/timestamp", "-tsa-chain", tsaPath}
	if code := run(args, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	tr, err := root.NewTrustedRootFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	if n, m := len(tr.FulcioCertificateAuthorities()), len(tr.TimestampingAuthorities()); n != 1 || m != 1 {
		t.Fatalf("%d certificate authorities and %d timestamping authorities, want 1 and 1", n, m)
	}
	// With a CT log too, its log id is sha256 of its DER key.
	ctArgs := append(append([]string(nil), args...), "-ct-url", "http://127.0.0.1:3484/slsabox", "-ct-key", keyPath)
	if code := run(ctArgs, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("with -ct-url: exit %d: %s", code, stderr.String())
	}
	if tr, err = root.NewTrustedRootFromPath(out); err != nil {
		t.Fatal(err)
	}
	id := sha256.Sum256(der)
	if _, ok := tr.CTLogs()[hex.EncodeToString(id[:])]; !ok || len(tr.CTLogs()) != 1 {
		t.Fatalf("CT logs %v lack the log id %x", tr.CTLogs(), id)
	}
	// A TSA chain without its root, or a URL without its chain, is refused.
	if err := os.WriteFile(tsaPath, leafPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run(args, &bytes.Buffer{}, &bytes.Buffer{}); code == 0 {
		t.Error("a TSA chain of one certificate was accepted")
	}
	if code := run(args[:len(args)-2], &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
		t.Errorf("-tsa-url without -tsa-chain: exit %d, want 2", code)
	}
}
