package ocipush

import (
	"fmt"
	"os"
	"strings"

	"github.com/slsabox/slsabox/internal/loopback"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// checkRegistry accepts HOST[:PORT], nothing more: no scheme, no path.
func checkRegistry(host string) error {
	if host == "" || strings.ContainsAny(host, "/@ ") {
		return fmt.Errorf("%w: --registry %q: give HOST[:PORT], like 127.0.0.1:5000 or ghcr.io", ErrConfiguration, host)
	}
	if _, err := name.NewRegistry(host, name.StrictValidation); err != nil {
		return fmt.Errorf("%w: --registry %q: give HOST[:PORT]: %w", ErrConfiguration, host, err)
	}
	return nil
}

// repository is where an image named imageName goes: its own registry, or registry
// when set. Only a loopback registry is spoken to over plain HTTP.
func repository(imageName, registry string) (name.Repository, error) {
	r, err := name.NewRepository(imageName)
	if err != nil {
		return name.Repository{}, fmt.Errorf("%w: image name %q: %w", ErrInvalidImage, imageName, err)
	}
	if registry != "" {
		if r, err = name.NewRepository(registry + "/" + r.RepositoryStr()); err != nil {
			return name.Repository{}, fmt.Errorf("%w: %s/%s: %w", ErrConfiguration, registry, r.RepositoryStr(), err)
		}
	}
	if loopback.Is(r.RegistryStr()) {
		return name.NewRepository(r.String(), name.Insecure)
	}
	return r, nil
}

// keychain finds credentials in the Docker config (docker login, credential
// helpers), and for ghcr.io in GITHUB_TOKEN, as a GitHub Actions job has it.
func keychain() authn.Keychain {
	return authn.NewMultiKeychain(authn.DefaultKeychain, githubToken{})
}

type githubToken struct{}

func (githubToken) Resolve(r authn.Resource) (authn.Authenticator, error) {
	tok := os.Getenv("GITHUB_TOKEN")
	if r.RegistryStr() != "ghcr.io" || tok == "" {
		return authn.Anonymous, nil
	}
	user := os.Getenv("GITHUB_ACTOR")
	if user == "" {
		user = "slsabox" // ghcr.io checks the token, not the user name
	}
	return &authn.Basic{Username: user, Password: tok}, nil
}
