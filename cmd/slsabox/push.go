package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/ocipush"
	"github.com/slsabox/slsabox/internal/hint"
	"github.com/slsabox/slsabox/internal/ocilayout"
)

// pushFlags are what build --push and push share.
type pushFlags struct {
	registry string
	tags     []string
}

func (p *pushFlags) register(f *pflag.FlagSet) {
	f.StringVar(&p.registry, "registry", "", "push to HOST[:PORT] instead of the registry each image name starts with (plain HTTP only to loopback)")
	f.StringArrayVar(&p.tags, "tag", nil, "also tag every image TAG (repeatable), after its digest and provenance are pushed")
}

// options are the registry and tag options; check them before anything is built.
func (p *pushFlags) options() []ocipush.Option {
	var opts []ocipush.Option
	if p.registry != "" {
		opts = append(opts, ocipush.WithRegistry(p.registry))
	}
	if len(p.tags) > 0 {
		opts = append(opts, ocipush.WithTags(p.tags...))
	}
	return opts
}

func newPushCmd(g *globalOptions) *cobra.Command {
	var (
		bundle string
		p      pushFlags
	)
	cmd := &cobra.Command{
		Use:   "push --bundle OUT/provenance.sigstore.json",
		Short: "Push the images of a build that already ran, with its provenance attached",
		Long: `push uploads the container images of a finished build (the OCI layouts in
OUT/images, beside the bundle) to their registries by digest, and attaches the signed
provenance bundle to each as an OCI 1.1 referrer (artifactType
application/vnd.dev.sigstore.bundle.v0.3+json, subject = the image's manifest), the
form cosign verify-attestation reads, and the signed SBOM beside it
(OUT/sbom.sigstore.json) as a second referrer of the same form. It refuses an image whose digest is not a
subject of the bundle. Registries with the referrers API get the referrer through
it; others get the referrers tag schema (a sha256-<hex> tag holding an index).

Images are pushed by digest; --tag TAG (repeatable) then points TAG at each image,
after its referrer is there, so that no tag names an image without its provenance.
Tags are mutable and not in the provenance: consumers verify by digest. --registry HOST[:PORT] replaces
the registry part of every image name (a mirror, a test registry). Plain HTTP is
spoken only to registries on loopback. Credentials come from the Docker config
(docker login, credential helpers) and, for ghcr.io, from $GITHUB_TOKEN. Pushing
again is safe: what the registry has is skipped, and the referrer is the same.

Exit codes: 0 pushed; 2 bad input (bundle, layouts, flags); 3 the registry failed
(unreachable, refused, errors): run push again later.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bundle == "" {
				return usageError{errors.New("--bundle is required: pass the OUT/" + attest.BundleFile + " of the build whose images to push")}
			}
			images, err := imagesBeside(bundle)
			if err != nil {
				return err
			}
			pushed, err := pushImages(cmd, g, bundle, images, p)
			if perr := printPushed(cmd.OutOrStdout(), g, pushed); perr != nil && err == nil {
				err = perr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&bundle, "bundle", "", "the build's bundle, OUT/"+attest.BundleFile+"; its images are read from OUT/images")
	p.register(cmd.Flags())
	return cmd
}

// imagesBeside finds the image layouts in OUT/images next to OUT/provenance.sigstore.json,
// each named by its index.json's org.opencontainers.image.ref.name (which the build
// writes as the image's name).
func imagesBeside(bundle string) ([]ocipush.Image, error) {
	dir := filepath.Join(filepath.Dir(bundle), "images")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, hint.Wrap(usageError{fmt.Errorf("reading the images of the build: %w", err)},
			"pass the "+attest.BundleFile+" of a build whose slsabox.yaml has images:, in its OUT directory")
	}
	var out []ocipush.Image
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		layout := filepath.Join(dir, e.Name())
		img, err := readLayoutName(layout)
		if err != nil {
			return nil, hint.Wrap(usageError{err}, "push the OUT of a slsabox build as the build wrote it: OUT/images holds only its image layouts")
		}
		out = append(out, img)
	}
	if len(out) == 0 {
		return nil, usageError{fmt.Errorf("%s holds no image layout", dir)}
	}
	return out, nil
}

func readLayoutName(layout string) (ocipush.Image, error) {
	data, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		return ocipush.Image{}, fmt.Errorf("image layout %s: %w", layout, err)
	}
	var idx struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(data, &idx); err != nil || len(idx.Manifests) != 1 {
		return ocipush.Image{}, fmt.Errorf("image layout %s: index.json must name one image, as slsabox build writes it (%v)", layout, err)
	}
	m := idx.Manifests[0]
	name := m.Annotations[ocilayout.AnnotationRefName]
	if name == "" {
		return ocipush.Image{}, fmt.Errorf("image layout %s: index.json has no %s naming the image", layout, ocilayout.AnnotationRefName)
	}
	return ocipush.Image{Name: name, Digest: m.Digest, Layout: layout}, nil
}

// pushImages pushes the images with the bundle attached; a registry failure says how
// to push again later.
func pushImages(cmd *cobra.Command, g *globalOptions, bundle string, images []ocipush.Image, p pushFlags) ([]ocipush.Pushed, error) {
	data, err := os.ReadFile(bundle)
	if err != nil {
		return nil, usageError{fmt.Errorf("reading the bundle: %w", err)}
	}
	opts := append(p.options(), ocipush.WithProgress(progressWriter{cmd.ErrOrStderr(), g.quiet}))
	// The signed SBOM beside the provenance goes as a second referrer.
	sbomPath := filepath.Join(filepath.Dir(bundle), attest.SBOMBundleFile)
	switch sbom, err := os.ReadFile(sbomPath); {
	case err == nil:
		opts = append(opts, ocipush.WithAttachments(sbom))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, usageError{fmt.Errorf("reading the SBOM: %w", err)}
	default:
		g.logf(cmd.ErrOrStderr(), "warning: no %s beside %s: the images get the provenance only", attest.SBOMBundleFile, bundle)
	}
	pushed, err := ocipush.Push(cmd.Context(), data, images, opts...)
	if errors.Is(err, ocipush.ErrUnavailable) {
		again := "slsabox push --bundle " + bundle
		if p.registry != "" {
			again += " --registry " + p.registry
		}
		for _, t := range p.tags {
			again += " --tag " + t
		}
		return pushed, hint.Wrap(err, "the signed build is kept in "+filepath.Dir(bundle)+"; when the registry is back (or with credentials: docker login), run: "+again)
	}
	return pushed, err
}

func printPushed(w io.Writer, g *globalOptions, pushed []ocipush.Pushed) error {
	if g.output == "json" {
		if pushed == nil {
			pushed = []ocipush.Pushed{}
		}
		return json.NewEncoder(w).Encode(struct {
			Images []ocipush.Pushed `json:"images"`
		}{pushed})
	}
	for _, p := range pushed {
		fmt.Fprintf(w, "pushed %s  (image %s)\n", termSafe(p.Ref), termSafe(p.Name))
		repo, _, _ := strings.Cut(p.Ref, "@")
		fmt.Fprintf(w, "provenance: %s@%s\n", termSafe(repo), p.Referrer)
		for _, a := range p.Attached {
			fmt.Fprintf(w, "sbom: %s@%s\n", termSafe(repo), a)
		}
		for _, t := range p.Tags {
			fmt.Fprintf(w, "tagged %s\n", termSafe(t))
		}
	}
	return nil
}
