package builder

import (
	"os"
	"path/filepath"
	"testing"
)

func stageDir(t *testing.T, parent, name, content string) string {
	t.Helper()
	d := filepath.Join(parent, name)
	must(t, os.MkdirAll(d, 0o755))
	write(t, filepath.Join(d, "artifact"), content, 0o644)
	write(t, filepath.Join(d, outputMarker), "id\n", 0o644)
	return d
}

// TestPublish: OUT is replaced as a whole, and what a crashed publish left beside it
// (OUT.old-<id> holding an earlier output) is removed.
func TestPublish(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	if err := publish(stageDir(t, parent, "out.tmp-1", "one"), out, "1"); err != nil {
		t.Fatal(err)
	}
	crashed := stageDir(t, parent, "out.old-dead", "from a crash")
	if err := publish(stageDir(t, parent, "out.tmp-2", "two"), out, "2"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "artifact")); string(b) != "two" {
		t.Errorf("OUT holds %q, want the new build's", b)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("beside OUT: %v, want nothing (the crash's %s removed)", names, filepath.Base(crashed))
	}
	// A directory named like a leftover that slsabox did not make is not touched.
	mine := filepath.Join(parent, "out.old-mine")
	must(t, os.Mkdir(mine, 0o755))
	if err := publish(stageDir(t, parent, "out.tmp-3", "three"), out, "3"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a directory without the marker was removed: %v", err)
	}
}

// TestKeepUnpublished: when signing fails after a good build, the staged artifacts go
// to OUT.failed instead of being thrown away, and OUT is untouched.
func TestKeepUnpublished(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	stageDir(t, parent, "out", "published earlier")
	stageDir(t, parent, "out"+unpublishedSuffix, "an earlier failure")
	if err := keepUnpublished(stageDir(t, parent, "out.tmp-1", "unsigned"), out); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out+unpublishedSuffix, "artifact")); string(b) != "unsigned" {
		t.Errorf("OUT.failed holds %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "artifact")); string(b) != "published earlier" {
		t.Errorf("OUT holds %q", b)
	}
	removeUnpublished(out)
	if _, err := os.Stat(out + unpublishedSuffix); !os.IsNotExist(err) {
		t.Errorf("OUT.failed after a success: %v", err)
	}
}
