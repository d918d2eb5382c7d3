package trustroot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/tuf"

	"github.com/slsabox/slsabox/attest/verify"
)

// load runs Load against the test repository, trusting its first root.
func (r *tufRepo) load(t *testing.T, cache string, opts ...Option) (*Root, error) {
	t.Helper()
	return Load(context.Background(), append([]Option{WithMirror(r.srv.URL), WithTUFRoot(r.anchor), WithCacheDir(cache)}, opts...)...)
}

func mustLoad(t *testing.T, r *tufRepo, cache string, want Source, opts ...Option) *Root {
	t.Helper()
	got, err := r.load(t, cache, opts...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got.Source != want {
		t.Fatalf("Source = %s (warning: %v), want %s", got.Source, got.Warning, want)
	}
	return got
}

// dir is where Load keeps the cache of this repository (its mirror and anchor).
func (r *tufRepo) cacheDirIn(cache string) string {
	c := config{cacheDir: cache, mirror: r.srv.URL, anchor: r.anchor}
	return c.dir()
}

func hasLog(r *Root, id string) bool { _, ok := r.TrustedRoot.RekorLogs()[id]; return ok }

func TestFirstRefreshThenCache(t *testing.T) {
	repo, cache := newTUFRepo(t, publicGoodJSON()), t.TempDir()
	got := mustLoad(t, repo, cache, SourceRefreshed)
	if got.Warning != nil || got.TrustedRoot == nil || !strings.Contains(got.Name, repo.srv.URL) {
		t.Fatalf("first refresh: warning %v, name %q", got.Warning, got.Name)
	}
	if _, err := os.Stat(filepath.Join(repo.cacheDirIn(cache), cacheFile)); err != nil {
		t.Fatalf("the cache is not written: %v", err)
	}
	n := repo.requests.Load()
	if n == 0 {
		t.Fatal("the refresh made no request")
	}
	again := mustLoad(t, repo, cache, SourceCache)
	if again.Warning != nil || repo.requests.Load() != n {
		t.Errorf("a cache within its validity: warning %v, %d more requests", again.Warning, repo.requests.Load()-n)
	}
	if !again.Refreshed.Equal(got.Refreshed) || !strings.Contains(again.Name, "cached") {
		t.Errorf("cached root: refreshed %s (want %s), name %q", again.Refreshed, got.Refreshed, again.Name)
	}
	// Past its validity, the cache is refreshed again.
	mustLoad(t, repo, cache, SourceRefreshed, WithValidity(0))
	if repo.requests.Load() == n {
		t.Error("a stale cache was not refreshed")
	}
}

func TestLogKeyRotation(t *testing.T) {
	repo, cache := newTUFRepo(t, publicGoodJSON()), t.TempDir()
	mustLoad(t, repo, cache, SourceRefreshed)
	rotated, id := withNewLog(t, publicGoodJSON())
	repo.publish(rotated)
	if got := mustLoad(t, repo, cache, SourceCache); hasLog(got, id) {
		t.Fatal("the cache within its validity already has the new log")
	}
	got := mustLoad(t, repo, cache, SourceRefreshed, WithValidity(0))
	if !hasLog(got, id) {
		t.Fatal("the refreshed root lacks the new log key")
	}
	if cached := mustLoad(t, repo, cache, SourceCache); !hasLog(cached, id) {
		t.Error("the cache kept the old root")
	}
}

func TestTUFRootRotation(t *testing.T) {
	repo, cache := newTUFRepo(t, publicGoodJSON()), t.TempDir()
	mustLoad(t, repo, cache, SourceRefreshed)
	repo.rotateRoot() // root v2: new root and timestamp keys
	rotated, id := withNewLog(t, publicGoodJSON())
	repo.publish(rotated) // signed by the new timestamp key only
	got := mustLoad(t, repo, cache, SourceRefreshed, WithValidity(0))
	if !hasLog(got, id) {
		t.Fatal("the root rotation was not followed to the new trusted root")
	}
	// The next refresh starts from the cached root v2, not the anchor v1: with
	// 2.root.json gone, a client starting from v1 stops there and refuses the
	// timestamp that v3's key signs.
	repo.rotateRoot()
	if err := os.Remove(filepath.Join(repo.dir, "2.root.json")); err != nil {
		t.Fatal(err)
	}
	again, id2 := withNewLog(t, rotated)
	repo.publish(again)
	if got := mustLoad(t, repo, cache, SourceRefreshed, WithValidity(0)); !hasLog(got, id2) {
		t.Fatal("the second root rotation was not followed")
	}
	if m, err := parseRoot(mustRead(t, filepath.Join(repo.cacheDirIn(cache), "root.json"))); err != nil || m.Signed.Version != 3 {
		t.Fatalf("cached root.json: %v, want version 3", err)
	}
}

// rejected checks that a refused refresh fell back to the cache holding the old root
// (not the log id new), with a warning of class ErrRejected that says want.
func rejected(t *testing.T, repo *tufRepo, cache, want, newLog string) {
	t.Helper()
	got := mustLoad(t, repo, cache, SourceCache, WithValidity(0))
	t.Logf("warning: %v", got.Warning)
	if !errors.Is(got.Warning, ErrRejected) || !strings.Contains(got.Warning.Error(), want) {
		t.Fatalf("warning = %v, want ErrRejected saying %q", got.Warning, want)
	}
	if newLog != "" && hasLog(got, newLog) {
		t.Fatal("the refused root is used")
	}
}

func TestExpiredTimestampRefused(t *testing.T) {
	repo, cache := newTUFRepo(t, publicGoodJSON()), t.TempDir()
	mustLoad(t, repo, cache, SourceRefreshed)
	rotated, id := withNewLog(t, publicGoodJSON())
	repo.roles.Timestamp().Signed.Expires = time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	repo.publish(rotated)
	rejected(t, repo, cache, "timestamp.json is expired", id)
}

func TestRollbackRefused(t *testing.T) {
	repo, cache := newTUFRepo(t, publicGoodJSON()), t.TempDir()
	oldTimestamp := repo.read("timestamp.json")
	repo.publish(publicGoodJSON()) // timestamp and snapshot version 2
	mustLoad(t, repo, cache, SourceRefreshed)
	repo.write("timestamp.json", oldTimestamp) // version 1, validly signed
	rejected(t, repo, cache, "must be >= 2", "")

	// The snapshot alone rolled back: a new timestamp naming snapshot version 1.
	repo.roles.Snapshot().Signed.Version = 1
	repo.roles.Timestamp().Signed.Version = 3
	repo.writeTimestamp()
	rejected(t, repo, cache, "new snapshot version 1", "")
}

func TestTargetHashMismatchRefused(t *testing.T) {
	repo, cache := newTUFRepo(t, publicGoodJSON()), t.TempDir()
	mustLoad(t, repo, cache, SourceRefreshed)
	rotated, id := withNewLog(t, publicGoodJSON())
	repo.publish(rotated)
	// The served bytes change after targets was signed (same length, other content).
	sum := sha256.Sum256(rotated)
	name := "targets/" + hex.EncodeToString(sum[:]) + "." + targetName
	tampered := bytes.Replace(rotated, []byte("log2.example.org"), []byte("log3.example.org"), 1)
	repo.write(name, tampered)
	rejected(t, repo, cache, "hash", id)
}

func TestOffline(t *testing.T) {
	repo, cache := newTUFRepo(t, publicGoodJSON()), t.TempDir()
	t.Run("no cache, public-good anchor: embedded", func(t *testing.T) {
		got, err := Load(context.Background(), WithMirror(repo.srv.URL), WithCacheDir(t.TempDir()), WithOffline())
		if err != nil || got.Source != SourceEmbedded || !errors.Is(got.Warning, ErrNotRefreshed) || errors.Is(got.Warning, ErrRejected) {
			t.Fatalf("Load = %+v, %v", got, err)
		}
		if !strings.Contains(got.Warning.Error(), "offline") {
			t.Errorf("warning %q does not say offline", got.Warning)
		}
	})
	t.Run("no cache, private anchor: no root", func(t *testing.T) {
		_, err := repo.load(t, t.TempDir(), WithOffline())
		if !errors.Is(err, verify.ErrTrustMaterial) || !errors.Is(err, ErrNotRefreshed) {
			t.Fatalf("err = %v, want ErrTrustMaterial and ErrNotRefreshed", err)
		}
	})
	if n := repo.requests.Load(); n != 0 {
		t.Fatalf("offline made %d requests", n)
	}
	mustLoad(t, repo, cache, SourceRefreshed)
	rotated, _ := withNewLog(t, publicGoodJSON())
	repo.publish(rotated)
	n := repo.requests.Load()
	got := mustLoad(t, repo, cache, SourceCache, WithOffline(), WithValidity(0))
	if got.Warning != nil || repo.requests.Load() != n {
		t.Errorf("offline with a stale cache: warning %v, %d requests", got.Warning, repo.requests.Load()-n)
	}
}

func TestServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()

	start := time.Now()
	got, err := Load(context.Background(), WithMirror(down), WithCacheDir(t.TempDir()))
	if err != nil || got.Source != SourceEmbedded || !errors.Is(got.Warning, ErrNotRefreshed) || errors.Is(got.Warning, ErrRejected) {
		t.Fatalf("no cache: Load = %+v, %v", got, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a closed port took %s", d)
	}

	// With a cache of this mirror: the cached root, warned.
	repo, cache := newTUFRepo(t, publicGoodJSON()), t.TempDir()
	mustLoad(t, repo, cache, SourceRefreshed)
	repo.srv.Close()
	got = mustLoad(t, repo, cache, SourceCache, WithValidity(0))
	if !errors.Is(got.Warning, ErrNotRefreshed) || errors.Is(got.Warning, ErrRejected) {
		t.Fatalf("warning = %v, want ErrNotRefreshed only", got.Warning)
	}
	// A private anchor with no cache has nothing to fall back to.
	if _, err := repo.load(t, t.TempDir()); !errors.Is(err, verify.ErrTrustMaterial) {
		t.Fatalf("private anchor, no cache, server down: err = %v", err)
	}
}

func TestCacheOfAnotherAnchorIgnored(t *testing.T) {
	repo, cache := newTUFRepo(t, publicGoodJSON()), t.TempDir()
	mustLoad(t, repo, cache, SourceRefreshed)
	other := newTUFRepo(t, publicGoodJSON())
	_, err := Load(context.Background(), WithMirror(repo.srv.URL), WithTUFRoot(other.anchor), WithCacheDir(cache), WithOffline())
	if !errors.Is(err, verify.ErrTrustMaterial) {
		t.Fatalf("a cache verified from another TUF root was used: %v", err)
	}
}

// TestAnotherAnchorsRootNotStarted: a refresh from another anchor at the same
// mirror (which fails: that anchor does not sign this repository) leaves nothing
// that a refresh from the first anchor starts from. Each anchor has its own TUF
// directory, so a root.json stored under one is never trusted under another.
func TestAnotherAnchorsRootNotStarted(t *testing.T) {
	repo, cache := newTUFRepo(t, publicGoodJSON()), t.TempDir()
	mustLoad(t, repo, cache, SourceRefreshed)
	other := newTUFRepo(t, publicGoodJSON())
	other.rotateRoot() // a root.json of version 2, newer than repo's
	if _, err := Load(context.Background(), WithMirror(repo.srv.URL), WithTUFRoot(other.anchor), WithCacheDir(cache), WithValidity(0)); err == nil {
		t.Fatal("another anchor verified this repository")
	}
	if repo.cacheDirIn(cache) == (&tufRepo{srv: repo.srv, anchor: other.anchor}).cacheDirIn(cache) {
		t.Fatal("two anchors share a TUF cache directory")
	}
	got := mustLoad(t, repo, cache, SourceRefreshed, WithValidity(0))
	if got.Warning != nil {
		t.Fatalf("refresh from the first anchor: %v", got.Warning)
	}
	if m, err := parseRoot(mustRead(t, filepath.Join(repo.cacheDirIn(cache), "root.json"))); err != nil || m.Signed.Version != 1 {
		t.Fatalf("cached root.json of the first anchor: %v, want its version 1", err)
	}
}

// TestFutureRefreshTimeIsStale: a record that says it was refreshed in the future
// (a clock set back, an edited file) does not stop refreshes.
func TestFutureRefreshTimeIsStale(t *testing.T) {
	repo, cache := newTUFRepo(t, publicGoodJSON()), t.TempDir()
	mustLoad(t, repo, cache, SourceRefreshed)
	c := config{cacheDir: cache, mirror: repo.srv.URL, anchor: repo.anchor}
	var rec cacheRecord
	path := filepath.Join(c.dir(), cacheFile)
	if err := json.Unmarshal(mustRead(t, path), &rec); err != nil {
		t.Fatal(err)
	}
	rec.Refreshed = time.Now().Add(365 * 24 * time.Hour)
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, repo, cache, SourceRefreshed)
}

func TestOptionsRejected(t *testing.T) {
	for name, o := range map[string]Option{
		"mirror":   WithMirror("tuf-repo-cdn.sigstore.dev"),
		"root":     WithTUFRoot([]byte(`{"signed":{}}`)),
		"cache":    WithCacheDir(""),
		"validity": WithValidity(-time.Second),
		"timeout":  WithTimeout(0),
	} {
		if _, err := Load(context.Background(), o, WithOffline()); !errors.Is(err, verify.ErrTrustMaterial) {
			t.Errorf("%s: err = %v, want ErrTrustMaterial", name, err)
		}
	}
}

func TestPublicGoodAnchorPinned(t *testing.T) {
	sum := sha256.Sum256(publicGoodTUFRoot)
	if got := hex.EncodeToString(sum[:]); got != publicGoodTUFRootSHA256 {
		t.Errorf("publicgood_tuf_root.json sha256 = %s, pinned %s", got, publicGoodTUFRootSHA256)
	}
	if !bytes.Equal(publicGoodTUFRoot, tuf.DefaultRoot()) {
		t.Errorf("sigstore-go's embedded TUF root changed: review it, then copy it to publicgood_tuf_root.json and update the pin (%s)", publicGoodTUFRootOrigin)
	}
	if _, err := parseRoot(publicGoodTUFRoot); err != nil {
		t.Errorf("the anchor is not a self-signed TUF root: %v", err)
	}
}

func TestRootOption(t *testing.T) {
	repo := newTUFRepo(t, publicGoodJSON())
	got := mustLoad(t, repo, t.TempDir(), SourceRefreshed)
	v, err := verify.New(got.Option(), verify.WithoutTransparencyLogUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	if v.TrustedRoot() != got.Name {
		t.Errorf("Verifier.TrustedRoot() = %q, want %q", v.TrustedRoot(), got.Name)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestStalledServer: a repository that accepts connections and never answers costs
// the timeout, then the fallback.
func TestStalledServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close() // connections wait in the backlog, never served
	start := time.Now()
	got, err := Load(context.Background(), WithMirror("http://"+l.Addr().String()), WithCacheDir(t.TempDir()), WithTimeout(200*time.Millisecond))
	if err != nil || got.Source != SourceEmbedded || !errors.Is(got.Warning, ErrNotRefreshed) {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > time.Second {
		t.Errorf("took %s, want the 200ms timeout", d)
	}
}

// TestCacheWritableByOthersNotTrusted: a cache another user could have written is not
// used (offline: the embedded root, with a warning saying why).
func TestCacheWritableByOthersNotTrusted(t *testing.T) {
	repo, cache := newTUFRepo(t, publicGoodJSON()), t.TempDir()
	mustLoad(t, repo, cache, SourceRefreshed)
	for _, p := range []string{filepath.Join(repo.cacheDirIn(cache), cacheFile), repo.cacheDirIn(cache)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, fi.Mode().Perm()|0o002); err != nil {
			t.Fatal(err)
		}
		_, err = repo.load(t, cache, WithOffline())
		if err == nil || !strings.Contains(err.Error(), "writable by other users") {
			t.Errorf("%s world-writable, offline: %v, want the cache refused as writable by others", p, err)
		}
		if err := os.Chmod(p, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	mustLoad(t, repo, cache, SourceCache)
}
