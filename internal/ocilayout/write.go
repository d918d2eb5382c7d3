package ocilayout

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WriteTo writes the checked image as a new OCI layout into dst, which must not
// exist: the referenced blobs (hashed again while copied, so a blob changed since
// Open is caught) and an index.json that names only the image, with refName as its
// org.opencontainers.image.ref.name. The caller removes dst on error.
func (l *Layout) WriteTo(dst, refName string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dst, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	for _, b := range l.Blobs {
		if err := l.copyBlob(b, filepath.Join(dst, filepath.FromSlash(blobPath(b.Digest)))); err != nil {
			return err
		}
	}
	type annotated struct {
		Descriptor
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	top := annotated{Descriptor: l.Image}
	if refName != "" {
		top.Annotations = map[string]string{AnnotationRefName: refName}
	}
	idx, err := json.Marshal(struct {
		SchemaVersion int         `json:"schemaVersion"`
		MediaType     string      `json:"mediaType"`
		Manifests     []annotated `json:"manifests"`
	}{2, MediaTypeOCIIndex, []annotated{top}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dst, "index.json"), idx, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dst, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

func (l *Layout) copyBlob(d Descriptor, dst string) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	err = l.hashBlob(blobPath(d.Digest), d, out)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copying blob %s: %w", strings.TrimPrefix(d.Digest, "sha256:")[:12], err)
	}
	return nil
}
