package benchenv

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Image is one image from an OCI archive, imported for ctr.
type Image struct {
	Archive string // absolute path of the OCI archive
	Digest  string // its manifest digest, what slsabox.yaml pins
	Name    string // its ref name, what ctr runs after importing it
}

// ImportImage reads the archive named by spec (an OCI archive path, or
// oci-archive:PATH@sha256:DIGEST, which must then hold that digest) and imports it
// with ctr into namespace on the daemon at containerd. slsabox imports it on its own
// during a benchmark's warm-up.
func ImportImage(ctx context.Context, ctr, containerd, namespace, spec string) (Image, error) {
	path, want := spec, ""
	if rest, ok := strings.CutPrefix(spec, "oci-archive:"); ok {
		at := strings.LastIndex(rest, "@")
		if at < 0 {
			return Image{}, fmt.Errorf("image %q: want oci-archive:PATH@sha256:DIGEST or a path", spec)
		}
		path, want = rest[:at], rest[at+1:]
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Image{}, err
	}
	img, err := readIndex(abs)
	if err != nil {
		return Image{}, fmt.Errorf("%s: %w (build it with scripts/images/, or run scripts/bench.sh)", path, err)
	}
	if want != "" && want != img.Digest {
		return Image{}, fmt.Errorf("%s holds %s, not %s", path, img.Digest, want)
	}
	out, err := exec.CommandContext(ctx, ctr, "-a", containerd, "-n", namespace, "images", "import", abs).CombinedOutput()
	if err != nil {
		return Image{}, fmt.Errorf("ctr images import %s: %w: %s", abs, err, strings.TrimSpace(string(out)))
	}
	if !bytes.Contains(out, []byte(img.Digest)) {
		return Image{}, fmt.Errorf("ctr images import %s did not import %s: %s", abs, img.Digest, strings.TrimSpace(string(out)))
	}
	return img, nil
}

// readIndex returns the only image in the OCI archive at path.
func readIndex(path string) (Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return Image{}, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			return Image{}, fmt.Errorf("no index.json: %w", err)
		}
		if strings.TrimPrefix(h.Name, "./") != "index.json" {
			continue
		}
		var idx struct {
			Manifests []struct {
				Digest      string            `json:"digest"`
				Annotations map[string]string `json:"annotations"`
			} `json:"manifests"`
		}
		if err := json.NewDecoder(tr).Decode(&idx); err != nil {
			return Image{}, fmt.Errorf("index.json: %w", err)
		}
		if len(idx.Manifests) != 1 {
			return Image{}, fmt.Errorf("index.json lists %d images, want 1", len(idx.Manifests))
		}
		m := idx.Manifests[0]
		name := m.Annotations["io.containerd.image.name"]
		if name == "" {
			name = m.Annotations["org.opencontainers.image.ref.name"]
		}
		if name == "" || !strings.Contains(name, "/") {
			return Image{}, errors.New("the image has no full ref name annotation for ctr")
		}
		return Image{Archive: path, Digest: m.Digest, Name: name}, nil
	}
}
