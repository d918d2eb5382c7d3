package builder

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSweepWorkDirs: a killed build's work directory goes (read-only module views
// included); a running build's, one just created without an owner yet, and anything
// not named like a work directory stay.
func TestSweepWorkDirs(t *testing.T) {
	dir := t.TempDir()
	host, _ := os.Hostname()
	mk := func(name, owner string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(p, "src", "gomod", "m@v1"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "src", "gomod", "m@v1", "go.mod"), []byte("module m\n"), 0o444); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(p, "src", "gomod", "m@v1"), 0o555); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(p, ownerFile), []byte(owner+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	dead := mk("slsabox-0123456789ab-111", host+"/999999999/1")
	running := mk("slsabox-0123456789ab-222", ownerID())
	fresh := mk("slsabox-0123456789ab-333", "")
	other := mk("slsabox-mnt-444", host+"/999999999/1")
	// Anyone may write $TMPDIR: a directory others may write, and a link planted with
	// a work directory's name, are not the sweep's to remove.
	writable := mk("slsabox-0123456789ab-555", host+"/999999999/1")
	if err := os.Chmod(writable, 0o777); err != nil {
		t.Fatal(err)
	}
	target := mk("slsabox-target", host+"/999999999/1")
	link := filepath.Join(dir, "slsabox-0123456789ab-666")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	n, err := sweepWorkDirs(dir)
	if err != nil || n != 1 {
		t.Fatalf("sweepWorkDirs = %d, %v; want 1 removed", n, err)
	}
	if _, err := os.Lstat(dead); err == nil {
		t.Error("the killed build's work directory is still there")
	}
	for _, p := range []string{running, fresh, other, writable, target, link} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed", filepath.Base(p))
		}
	}
}

// TestDialDeadSocket: a socket that no daemon listens on any more (containerd died
// and left it) is an environment error after dialTimeout, not a wait for ever.
func TestDialDeadSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "containerd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	defer func(d time.Duration) { dialTimeout = d }(dialTimeout)
	dialTimeout = 500 * time.Millisecond
	start := time.Now()
	_, err = New(context.Background(), sock)
	if !errors.Is(err, ErrEnvironment) || !strings.Contains(err.Error(), "not serving") {
		t.Errorf("err = %v, want ErrEnvironment: not serving", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
}
