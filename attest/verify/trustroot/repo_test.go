package trustroot

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/examples/repository/repository"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/slsabox/slsabox/attest/verify"
)

// tufRepo is a TUF repository made with go-tuf's metadata API, written to a
// directory and served on 127.0.0.1, laid out as Sigstore's (consistent snapshots:
// N.root.json, N.snapshot.json, N.targets.json, targets/HASH.trusted_root.json,
// timestamp.json). Every request is counted.
type tufRepo struct {
	t        *testing.T
	dir      string
	roles    *repository.Type
	keys     map[string]ed25519.PrivateKey // the current signing key of each role
	oldRoot  ed25519.PrivateKey            // the previous root key, during a rotation
	srv      *httptest.Server
	requests atomic.Int64
	anchor   []byte // 1.root.json, what a client trusts first
}

func newTUFRepo(t *testing.T, trustedRoot []byte) *tufRepo {
	t.Helper()
	r := &tufRepo{t: t, dir: t.TempDir(), roles: repository.New(), keys: map[string]ed25519.PrivateKey{}}
	if err := os.Mkdir(filepath.Join(r.dir, "targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.roles.SetRoot(metadata.Root(inDays(365)))
	for _, role := range []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		r.setKey(role, newKey(t))
	}
	r.roles.SetTargets(metadata.TARGETS, metadata.Targets(inDays(90)))
	r.roles.SetSnapshot(metadata.Snapshot(inDays(30)))
	r.roles.SetTimestamp(metadata.Timestamp(inDays(7)))
	r.writeRoot()
	r.anchor = r.read("1.root.json")
	r.addTarget(trustedRoot)
	r.writeTargets()
	r.writeSnapshot()
	r.writeTimestamp()
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		http.FileServer(http.Dir(r.dir)).ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func inDays(n int) time.Time {
	return time.Now().UTC().Add(time.Duration(n) * 24 * time.Hour).Truncate(time.Second)
}

func newKey(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// setKey makes k the only key of role in the root (not yet written).
func (r *tufRepo) setKey(role string, k ed25519.PrivateKey) {
	r.t.Helper()
	root := &r.roles.Root().Signed
	for _, id := range append([]string(nil), root.Roles[role].KeyIDs...) {
		if err := root.RevokeKey(id, role); err != nil {
			r.t.Fatal(err)
		}
	}
	key, err := metadata.KeyFromPublicKey(k.Public())
	if err != nil {
		r.t.Fatal(err)
	}
	if err := root.AddKey(key, role); err != nil {
		r.t.Fatal(err)
	}
	r.keys[role] = k
}

func (r *tufRepo) signer(k ed25519.PrivateKey) signature.Signer {
	s, err := signature.LoadSigner(k, crypto.Hash(0))
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func (r *tufRepo) write(name string, data []byte) {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, name), data, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *tufRepo) read(name string) []byte {
	r.t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, name))
	if err != nil {
		r.t.Fatal(err)
	}
	return data
}

// writeRoot signs the root with the root key and, during a rotation, the previous
// one too (a new root must meet the old root's threshold and its own).
func (r *tufRepo) writeRoot() {
	r.t.Helper()
	m := r.roles.Root()
	m.ClearSignatures()
	for _, k := range []ed25519.PrivateKey{r.keys[metadata.ROOT], r.oldRoot} {
		if k == nil {
			continue
		}
		if _, err := m.Sign(r.signer(k)); err != nil {
			r.t.Fatal(err)
		}
	}
	data, err := m.ToBytes(true)
	if err != nil {
		r.t.Fatal(err)
	}
	r.write(fmt.Sprintf("%d.root.json", m.Signed.Version), data)
}

// addTarget lists trustedRoot as trusted_root.json and writes it under its hash.
func (r *tufRepo) addTarget(trustedRoot []byte) {
	r.t.Helper()
	tf, err := metadata.TargetFile().FromBytes(targetName, trustedRoot, "sha256")
	if err != nil {
		r.t.Fatal(err)
	}
	r.roles.Targets(metadata.TARGETS).Signed.Targets[targetName] = tf
	r.write("targets/"+hex.EncodeToString(tf.Hashes["sha256"])+"."+targetName, trustedRoot)
}

func (r *tufRepo) writeTargets() {
	r.t.Helper()
	m := r.roles.Targets(metadata.TARGETS)
	m.ClearSignatures()
	if _, err := m.Sign(r.signer(r.keys[metadata.TARGETS])); err != nil {
		r.t.Fatal(err)
	}
	data, err := m.ToBytes(true)
	if err != nil {
		r.t.Fatal(err)
	}
	r.write(fmt.Sprintf("%d.targets.json", m.Signed.Version), data)
}

func (r *tufRepo) writeSnapshot() {
	r.t.Helper()
	m := r.roles.Snapshot()
	m.Signed.Meta["targets.json"] = metadata.MetaFile(r.roles.Targets(metadata.TARGETS).Signed.Version)
	m.ClearSignatures()
	if _, err := m.Sign(r.signer(r.keys[metadata.SNAPSHOT])); err != nil {
		r.t.Fatal(err)
	}
	data, err := m.ToBytes(true)
	if err != nil {
		r.t.Fatal(err)
	}
	r.write(fmt.Sprintf("%d.snapshot.json", m.Signed.Version), data)
}

func (r *tufRepo) writeTimestamp() {
	r.t.Helper()
	m := r.roles.Timestamp()
	m.Signed.Meta["snapshot.json"] = metadata.MetaFile(r.roles.Snapshot().Signed.Version)
	m.ClearSignatures()
	if _, err := m.Sign(r.signer(r.keys[metadata.TIMESTAMP])); err != nil {
		r.t.Fatal(err)
	}
	data, err := m.ToBytes(true)
	if err != nil {
		r.t.Fatal(err)
	}
	r.write("timestamp.json", data)
}

// publish releases trustedRoot as a new targets, snapshot and timestamp version.
func (r *tufRepo) publish(trustedRoot []byte) {
	r.t.Helper()
	r.addTarget(trustedRoot)
	r.roles.Targets(metadata.TARGETS).Signed.Version++
	r.writeTargets()
	r.roles.Snapshot().Signed.Version++
	r.writeSnapshot()
	r.roles.Timestamp().Signed.Version++
	r.writeTimestamp()
}

// rotateRoot publishes root version N+1 with a new root key and a new timestamp
// key, signed by the old root key and the new one, then a timestamp signed by the
// new timestamp key only: a client that did not follow the rotation refuses it.
func (r *tufRepo) rotateRoot() {
	r.t.Helper()
	r.oldRoot = r.keys[metadata.ROOT]
	r.setKey(metadata.ROOT, newKey(r.t))
	r.setKey(metadata.TIMESTAMP, newKey(r.t))
	r.roles.Root().Signed.Version++
	r.writeRoot()
	r.oldRoot = nil
	r.roles.Timestamp().Signed.Version++
	r.writeTimestamp()
}

// withNewLog returns trustedRoot (JSON) with one more Rekor log, with a new ECDSA key,
// and that log's id (hex, as root.TrustedRoot.RekorLogs keys it), what a log key rotation or a new shard looks like.
func withNewLog(t *testing.T, trustedRoot []byte) ([]byte, string) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(trustedRoot, &doc); err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	id := hex.EncodeToString(sum[:])
	tlogs := doc["tlogs"].([]any)
	var log map[string]any
	b, _ := json.Marshal(tlogs[0])
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatal(err)
	}
	log["baseUrl"] = "https://log2.example.org"
	log["publicKey"].(map[string]any)["rawBytes"] = base64.StdEncoding.EncodeToString(der)
	log["publicKey"].(map[string]any)["keyDetails"] = "PKIX_ECDSA_P256_SHA_256"
	log["logId"] = map[string]any{"keyId": base64.StdEncoding.EncodeToString(sum[:])}
	doc["tlogs"] = append(tlogs, log)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out, id
}

// publicGoodJSON is the trusted root the test repositories start with.
func publicGoodJSON() []byte { return verify.PublicGoodTrustedRootJSON() }
