package area

import (
	"context"
	"net/http"

	"github.com/gostack/gostack/compute"
	metadataapi "github.com/gostack/gostack/compute/api/metadata"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Metadata is Nova's metadata API (port 8775, not in the catalog): what
// the network's metadata proxies forward the guests' requests to
// 169.254.169.254 to, signed with the secret they share. It reads the
// compute store. In a daemon with the network area, list it before
// that area: the network's in-process agent takes its secret.
type Metadata struct {
	Config MetadataConfig
}

// MetadataConfig is the "metadata" section.
type MetadataConfig struct {
	SharedSecret string `yaml:"shared_secret" secret:"true" help:"the key the metadata proxies sign instance ids with (Nova's metadata_proxy_shared_secret; network.agent.metadata_proxy_shared_secret on the agents' hosts); empty: a secret made once and kept in <data_dir>/secrets"`
}

// metadataSecretName is the secret's name in the data directory, and
// metadataSecretKey where the area provides the secret it uses (a
// string) to the network area's in-process agent (network/area
// MetadataSecretKey: no area imports another), which must be built
// after this one.
const (
	metadataSecretName = "metadata_proxy_shared_secret"
	metadataSecretKey  = "metadata.secret"
)

// NewMetadata returns the metadata area with its defaults.
func NewMetadata() *Metadata { return &Metadata{} }

var (
	_ compose.Area         = (*Metadata)(nil)
	_ compose.Configurable = (*Metadata)(nil)
)

// Name is "metadata".
func (*Metadata) Name() string { return "metadata" }

// Section is the "metadata" config section.
func (m *Metadata) Section() any { return &m.Config }

// Migrations is the compute schema.
func (*Metadata) Migrations() []sqlstore.Migrations {
	return []sqlstore.Migrations{compute.Migrations()}
}

// Build returns the API. It takes no tokens: only a proxy that holds
// the secret reads an instance's metadata.
func (m *Metadata) Build(ctx context.Context, env *compose.Env) (http.Handler, error) {
	secret := m.Config.SharedSecret
	if secret == "" {
		var err error
		if secret, err = env.Secret(metadataSecretName); err != nil {
			return nil, err
		}
	}
	env.Provide(metadataSecretKey, secret)
	api := &metadataapi.API{Store: compute.NewStore(env.DB, env.Watch), Secret: secret, Log: env.Log}
	return api.Handler(), nil
}
