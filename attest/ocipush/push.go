package ocipush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsabox/slsabox/internal/loopback"
	"github.com/slsabox/slsabox/internal/ocilayout"
)

// Image is one container image of a build.
type Image struct {
	Name   string // the subject name in the provenance: registry/repository, no tag or digest
	Digest string // "sha256:<hex>" of its manifest or index
	Layout string // the OCI layout directory that holds it (OUT/images/...)
}

// Pushed says where an image and its provenance went.
type Pushed struct {
	Name     string `json:"name"`     // the image's subject name
	Ref      string `json:"ref"`      // REGISTRY/REPO@sha256:... as pushed
	Digest   string `json:"digest"`   // the image's manifest (or index) digest
	Referrer string `json:"referrer"` // the digest of the referrer manifest holding the bundle
	// Attached are the digests of the referrers of WithAttachments' bundles, in order.
	Attached []string `json:"attached,omitempty"`
	// Tags are REGISTRY/REPO:TAG written after the referrers (WithTags).
	Tags []string `json:"tags,omitempty"`
}

// Option configures Push.
type Option func(*options) error

type options struct {
	registry string
	progress io.Writer
	attempts int
	tags     []string
	attach   [][]byte // further bundles: the SBOM
}

// maxImageSize bounds the images pushed: far above any build's output.
const maxImageSize = 1 << 40

// tagRE is the OCI distribution spec's grammar of a tag.
var tagRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`) })

// WithTags also points these tags of each image's repository at the image, after its
// digest and its referrer are there (so no tag names an image without its
// provenance). Tags are mutable and not part of the provenance: verify by digest.
func WithTags(tags ...string) Option {
	return func(o *options) error {
		for _, t := range tags {
			if !tagRE().MatchString(t) {
				return fmt.Errorf("%w: tag %q: a tag is 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", ErrConfiguration, t)
			}
		}
		o.tags = append(o.tags, tags...)
		return nil
	}
}

// WithRegistry pushes to host (HOST[:PORT]) instead of the registry each image name
// starts with: for mirrors and tests.
func WithRegistry(host string) Option {
	return func(o *options) error {
		if err := checkRegistry(host); err != nil {
			return err
		}
		o.registry = host
		return nil
	}
}

// WithAttachments also attaches these bundles (the build's SBOM bundle) to each
// image as referrers of their own, after the provenance and before any tag. Each
// must be a statement over the same subjects as the provenance bundle.
func WithAttachments(bundles ...[]byte) Option {
	return func(o *options) error {
		o.attach = append(o.attach, bundles...)
		return nil
	}
}

// WithProgress writes one line per image pushed and per referrer attached to w.
func WithProgress(w io.Writer) Option {
	return func(o *options) error {
		o.progress = w
		return nil
	}
}

// WithAttempts bounds the tries of each registry request that failed in a way worth
// retrying (a dropped connection, 429, 5xx): n >= 1, default 3.
func WithAttempts(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 10 {
			return fmt.Errorf("%w: %d attempts: pass 1 to 10", ErrConfiguration, n)
		}
		o.attempts = n
		return nil
	}
}

// CheckOptions applies opts as Push would and returns the first error: a program checks
// its --registry and --tag values before a build, not after it.
func CheckOptions(opts ...Option) error {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return err
		}
	}
	return nil
}

// Push uploads each image from its layout to its registry by digest, then attaches
// bundle (the build's Sigstore bundle, whose statement must name every image as a
// subject) as a referrer of it. Nothing is uploaded before every image and the bundle
// are checked. A registry failure is an ErrUnavailable; pushing again is safe (what
// is there already is skipped, and the referrer has the same digest each time).
func Push(ctx context.Context, bundle []byte, images []Image, opts ...Option) ([]Pushed, error) {
	o := options{attempts: 3}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("%w: no image to push: the build wrote none (images: in slsabox.yaml)", ErrInvalidImage)
	}
	ref, err := newReferrer(bundle)
	if err != nil {
		return nil, err
	}
	refs := []*referrer{ref}
	for i, data := range o.attach {
		r, err := newReferrer(data)
		if err != nil {
			return nil, fmt.Errorf("attachment %d: %w", i+1, err)
		}
		if r.created == "" {
			r.created = ref.created // the same build: the same referrer each push
		}
		refs = append(refs, r)
	}
	// Check everything before uploading anything.
	var targets []target
	for _, img := range images {
		t, err := prepare(img, o.registry, refs...)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	var registries []string
	for _, t := range targets {
		registries = append(registries, t.repo.RegistryStr())
	}
	ropts := o.remoteOptions(ctx, registries)
	pusher, err := remote.NewPusher(ropts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var out []Pushed
	for _, t := range targets {
		p, err := t.push(ctx, pusher, ropts, refs, o.progress, o.tags)
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}

// target is an image checked and ready to push.
type target struct {
	img      Image
	repo     name.Repository
	subject  v1.Descriptor // the image's manifest or index
	taggable remote.Taggable
}

// prepare checks the image's layout (every blob against its digest) and that the
// bundle names the image, and resolves where it goes.
func prepare(img Image, registry string, refs ...*referrer) (target, error) {
	what := fmt.Sprintf("image %s", img.Name)
	for i, ref := range refs {
		if ref.names(img.Name, img.Digest) {
			continue
		}
		if i == 0 {
			return target{}, fmt.Errorf("%w: %s@%s is not a subject of the bundle: push the images of the build that signed it", ErrInvalidImage, img.Name, img.Digest)
		}
		return target{}, fmt.Errorf("%w: %s@%s is not a subject of attachment %d (%s): attach the bundles of the build that made it", ErrInvalidImage, img.Name, img.Digest, i, ref.predicateType)
	}
	// The layout is the build's own output, checked there against limits.output_size,
	// which may be above ocilayout's default: only absurd sizes are refused here.
	l, err := ocilayout.Open(img.Layout, ocilayout.Limits{TotalSize: maxImageSize})
	if err != nil {
		return target{}, fmt.Errorf("%w: %s: %w", ErrInvalidImage, what, err)
	}
	desc := l.Image
	l.Close()
	if desc.Digest != img.Digest {
		return target{}, fmt.Errorf("%w: %s: the layout %s holds %s, not %s", ErrInvalidImage, what, img.Layout, desc.Digest, img.Digest)
	}
	h, err := v1.NewHash(desc.Digest)
	if err != nil {
		return target{}, fmt.Errorf("%w: %s: %w", ErrInvalidImage, what, err)
	}
	lp, err := layout.FromPath(img.Layout)
	if err != nil {
		return target{}, fmt.Errorf("%w: %s: %w", ErrInvalidImage, what, err)
	}
	var t remote.Taggable
	if typeOf(desc.MediaType).IsIndex() {
		t, err = lp.ImageIndex()
		if err == nil {
			t, err = t.(v1.ImageIndex).ImageIndex(h)
		}
	} else {
		t, err = lp.Image(h)
	}
	if err != nil {
		return target{}, fmt.Errorf("%w: %s: %w", ErrInvalidImage, what, err)
	}
	repo, err := repository(img.Name, registry)
	if err != nil {
		return target{}, err
	}
	return target{img: img, repo: repo, taggable: t,
		subject: v1.Descriptor{MediaType: typeOf(desc.MediaType), Digest: h, Size: desc.Size}}, nil
}

func typeOf(mt string) types.MediaType { return types.MediaType(mt) }

func (t target) push(ctx context.Context, p *remote.Pusher, ropts []remote.Option, refs []*referrer, progress io.Writer, tags []string) (Pushed, error) {
	dst := t.repo.Digest(t.subject.Digest.String())
	if err := p.Push(ctx, dst, t.taggable); err != nil {
		return Pushed{}, unavailable(fmt.Sprintf("pushing %s", dst), err)
	}
	say(progress, "pushed %s", dst)
	out := Pushed{Name: t.img.Name, Ref: dst.String(), Digest: t.subject.Digest.String()}
	for i, ref := range refs {
		d, err := ref.attach(ctx, p, ropts, t.repo, t.subject)
		if err != nil {
			return Pushed{}, err
		}
		if i == 0 {
			out.Referrer = d
			say(progress, "attached the provenance to %s as referrer %s", dst, d)
		} else {
			out.Attached = append(out.Attached, d)
			say(progress, "attached the %s statement to %s as referrer %s", ref.predicateType, dst, d)
		}
	}
	for _, tag := range tags {
		tr := t.repo.Tag(tag)
		if err := p.Push(ctx, tr, t.taggable); err != nil {
			return out, unavailable(fmt.Sprintf("tagging %s as %s", dst, tr), err)
		}
		say(progress, "tagged %s", tr)
		out.Tags = append(out.Tags, tr.String())
	}
	return out, nil
}

func (o options) remoteOptions(ctx context.Context, registries []string) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(keychain()),
		remote.WithTransport(loopback.HTTPSUnless(transport(), registries...)),
		remote.WithRetryBackoff(remote.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: o.attempts}),
		remote.WithUserAgent("slsabox"),
	}
}

// transport is go-containerregistry's, with a bound on how long a registry may keep a
// request without answering: a registry that accepts and then stalls fails the push
// (exit 3, and slsabox push later) instead of hanging the job.
func transport() http.RoundTripper {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 2 * time.Minute
	return t
}

func unavailable(what string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
}

func say(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
