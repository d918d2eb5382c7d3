package builder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/slsabox/slsabox/internal/hint"
	"github.com/slsabox/slsabox/internal/ociarchive"
	"github.com/slsabox/slsabox/internal/ocilayout"
)

// ImageSubject is a container image the build produced. OUT holds it as an OCI
// layout; the provenance names it as a subject with the digest of its manifest (or
// index), which is what registries, cosign and admission controllers look up.
type ImageSubject struct {
	Name      string `json:"name"`      // registry/repository, no tag or digest
	Digest    string `json:"digest"`    // "sha256:<hex>" of the manifest or index
	MediaType string `json:"mediaType"` // of that manifest or index
	Layout    string `json:"layout"`    // the OCI layout's directory, relative to OUT: images/<name>
	// Binaries are the Go binaries the image holds: for an assembled image the /out
	// files that went in, for a layout every regular file its layers leave.
	Binaries []ImageBinary `json:"binaries,omitempty"`
}

// SHA256 is the hex digest, as file subjects carry it.
func (s ImageSubject) SHA256() string { return strings.TrimPrefix(s.Digest, "sha256:") }

// imagesDir is the directory of OUT that holds the image layouts.
const imagesDir = "images"

// collectImages checks or assembles every image of def from what the steps left in
// outDir, and writes each as an OCI layout under stage/images. scratch is a work
// directory for assembled layouts; epoch (SOURCE_DATE_EPOCH) is every timestamp of an
// assembled image. Nothing reads outDir through a symlink: collectOutputs refused
// any, and the layout checker opens every file inside the layout without following one.
func collectImages(ctx context.Context, def *Definition, outDir, scratch, stage string, epoch int64) ([]ImageSubject, error) {
	if len(def.Images) == 0 {
		return nil, nil
	}
	if err := os.Mkdir(filepath.Join(stage, imagesDir), 0o755); err != nil {
		return nil, fmt.Errorf("%w: writing images: %w", ErrEnvironment, err)
	}
	var out []ImageSubject
	for i, img := range def.Images {
		what := fmt.Sprintf("image %s", img.Name)
		dir := ""
		if img.Layout != "" {
			dir = filepath.Join(outDir, filepath.FromSlash(strings.TrimPrefix(img.Layout, "/out/")))
			what += " (layout " + img.Layout + ")"
		} else {
			dir = filepath.Join(scratch, strconv.Itoa(i))
			if err := assembleImage(ctx, img, outDir, dir, epoch); err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
		}
		l, err := ocilayout.Open(dir, ocilayout.Limits{TotalSize: def.Limits.OutputSize})
		if err != nil {
			if img.Layout == "" { // our own assembly: its size is the only thing the build decides
				if errors.Is(err, ocilayout.ErrTooLarge) {
					return nil, hint.Wrap(fmt.Errorf("%w: assembled %s: %w", ErrImageRejected, what, err), "raise limits.output_size, or use a smaller base")
				}
				return nil, fmt.Errorf("%w: checking assembled %s: %w", ErrEnvironment, what, err)
			}
			return nil, hint.Wrapf(fmt.Errorf("%w: %s: %w", ErrImageRejected, what, err),
				"make a step write a complete OCI image layout there (oci-layout, index.json naming one image, blobs/sha256/...), e.g. with crane, ko, buildkit's oci exporter or skopeo")
		}
		rel := imagesDir + "/" + imageDir(img.Name)
		err = l.WriteTo(filepath.Join(stage, filepath.FromSlash(rel)), img.Name)
		var bins []ImageBinary
		if err == nil {
			bins, err = imageBinaries(l, img, outDir, scratch, def.Limits.OutputSize)
		}
		l.Close()
		switch {
		case errors.Is(err, ocilayout.ErrInvalidLayout):
			return nil, fmt.Errorf("%w: %s changed while it was copied: %w", ErrImageRejected, what, err)
		case errors.Is(err, ErrImageRejected), errors.Is(err, ErrEnvironment):
			return nil, fmt.Errorf("%s: %w", what, err)
		case err != nil:
			return nil, fmt.Errorf("%w: writing %s to OUT/%s: %w", ErrEnvironment, what, rel, err)
		}
		out = append(out, ImageSubject{Name: img.Name, Digest: l.Image.Digest, MediaType: l.Image.MediaType, Layout: rel, Binaries: bins})
	}
	return out, nil
}

// imageBinaries finds the Go binaries of one image (see ImageSubject.Binaries).
func imageBinaries(l *ocilayout.Layout, img OutputImage, outDir, scratch string, outputSize int64) ([]ImageBinary, error) {
	if img.Layout == "" {
		return assembledBinaries(img, outDir)
	}
	dir := filepath.Join(scratch, "binaries")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	defer os.RemoveAll(dir)
	return layoutBinaries(l, dir, unpackFactor*outputSize)
}

// assembleImage writes img, assembled from files of outDir, as an OCI layout into dir.
func assembleImage(ctx context.Context, img OutputImage, outDir, dir string, epoch int64) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	files := []ociarchive.File{}
	for _, f := range img.Files {
		src := filepath.Join(outDir, filepath.FromSlash(strings.TrimPrefix(f.Src, "/out/")))
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			why := "is missing"
			if err == nil {
				why = "is not a regular file"
			}
			return hint.Wrapf(fmt.Errorf("%w: %s %s", ErrImageRejected, f.Src, why), "make a step write %s, or fix files: in slsabox.yaml", f.Src)
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
			if fi.Mode().Perm()&0o111 != 0 {
				mode = 0o755
			}
		}
		files = append(files, ociarchive.File{Path: f.Dst, Source: src, Mode: mode})
	}
	env := make([]string, 0, len(img.Env))
	for _, e := range img.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	if len(env) == 0 {
		env = nil
	}
	final := dir
	if img.Base != nil { // the files' layer goes on top of the base: written apart first
		dir = final + ".files"
		if err := os.Mkdir(dir, 0o700); err != nil {
			return fmt.Errorf("%w: %w", ErrEnvironment, err)
		}
	}
	_, err := ociarchive.WriteLayout(ctx, dir, files, ociarchive.Options{
		Epoch: epoch, Entrypoint: img.Entrypoint, Cmd: img.Cmd, Env: env, User: img.User, WorkDir: img.WorkDir,
		Labels:   img.Labels,
		Platform: ociarchive.Platform{OS: img.Platform.OS, Architecture: img.Platform.Architecture, Variant: img.Platform.Variant},
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: assembling the image", ErrInterrupted)
		}
		return fmt.Errorf("%w: assembling the image: %w", ErrImageRejected, err)
	}
	if img.Base == nil {
		return nil
	}
	base, err := loadBase(ctx, *img.Base, img.Platform, final+".base")
	if err != nil {
		return err
	}
	if err := onBase(base, dir, img, epoch, final); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: assembling the image", ErrInterrupted)
		}
		return fmt.Errorf("%w: putting the files on %s: %w", ErrImageRejected, img.Base.Raw, err)
	}
	return nil
}

// baseInputs are the base images of def, recorded as resolved dependencies of the build.
func baseInputs(def *Definition) []ResolvedInput {
	var in []ResolvedInput
	for _, img := range def.Images {
		if img.Base != nil {
			in = append(in, ResolvedInput{Name: "base image of " + img.Name, URI: img.Base.Raw,
				Digest: map[string]string{"sha256": strings.TrimPrefix(img.Base.Digest, "sha256:")}})
		}
	}
	return in
}

// checkSubjectNames refuses file subjects that would collide with the images: one
// under OUT/images, or one named like an image.
func checkSubjectNames(files []Subject, images []OutputImage) error {
	if len(images) == 0 {
		return nil
	}
	for _, s := range files {
		if top, _, _ := strings.Cut(s.Name, "/"); top == imagesDir {
			return hint.Wrapf(fmt.Errorf("%w: /out/%s would land in OUT/%s, where slsabox writes the images", ErrOutputRejected, s.Name, imagesDir),
				"rename the output, or narrow outputs: so that it does not match the image's layout directory")
		}
		for _, img := range images {
			if s.Name == img.Name {
				return hint.Wrapf(fmt.Errorf("%w: the file /out/%s has the name of an image subject", ErrOutputRejected, s.Name), "rename the file")
			}
		}
	}
	return nil
}
