package area

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/image/api"
	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/image/store/httpstore"
	"github.com/gostack/gostack/image/store/rbdstore"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Area is the Glance v2 service: records in the store, data in files
// under image.dir, behind the identity area's token validation.
type Area struct {
	Config Config
}

// Config holds Glance's settings: the "image" section.
type Config struct {
	Dir              string           `yaml:"dir" help:"image data (data/ and staging/ below it); empty means <data_dir>/images"`
	HashAlgo         string           `yaml:"hash_algo" help:"os_hash_algo of new images: sha512, sha384, sha256 or sha224 (Glance's hashing_algorithm)"`
	MaxImageSize     int64            `yaml:"max_image_size" help:"largest image in bytes (Glance's image_size_cap)"`
	QuotaImages      int              `yaml:"quota_images" help:"images per project, -1 for no limit (image_count_total)"`
	QuotaBytes       int64            `yaml:"quota_bytes" help:"bytes of image data per project, -1 for no limit (image_size_total)"`
	ProjectQuotas    map[string]Quota `yaml:"project_quotas" help:"per-project overrides of quota_images and quota_bytes, by project id"`
	WebDownload      bool             `yaml:"web_download" help:"offer the web-download import method"`
	WebDownloadAllow []string         `yaml:"web_download_allow" help:"CIDRs web-download and image locations may fetch from although loopback or link-local (refused otherwise)"`
	FormatMismatch   bool             `yaml:"allow_format_mismatch" help:"accept data whose format differs from disk_format (Glance's require_image_format_match=false); safety checks still apply"`
	PolicyFile       string           `yaml:"policy_file" help:"oslo.policy YAML or JSON overrides of Glance's default rules"`
	MaxProperties    int              `yaml:"max_properties" help:"extra properties per image, -1 for no limit (Glance's image_property_quota); one more is a 413"`
	MaxTags          int              `yaml:"max_tags" help:"tags per image, -1 for no limit (Glance's image_tag_quota); one more is a 413"`
	MaxMembers       int              `yaml:"max_members" help:"projects one image can be shared with, -1 for no limit (Glance's image_member_quota); one more is a 413"`
	ShowLocations    bool             `yaml:"show_multiple_locations" help:"Glance's show_multiple_locations, deprecated there and risky: image bodies list locations (URLs may hold credentials) and members may add http(s) locations, which the service then fetches (guarded as web-download: see web_download_allow)"`
	ShowDirectURL    bool             `yaml:"show_image_direct_url" help:"Glance's show_image_direct_url, risky: image bodies show the URL of the first location (for images uploaded here, the file:// path of their data) as direct_url"`
	MaxLocations     int              `yaml:"max_locations" help:"locations per image, -1 for no limit (Glance's image_location_quota); one more is a 413"`
	RBD              RBD              `yaml:"rbd"`
	MetadefsDir      string           `yaml:"metadefs_dir" help:"Glance's metadata definitions files (*.json) loaded once, at the first start; empty finds them in /etc/glance/metadefs or /usr/share/glance-common/metadefs (Debian's glance-common), \"-\" loads none"`
}

// RBD is a Ceph RBD pool holding image data, Glance's rbd store, when
// ceph_conf is set: it is then the store of every image uploaded or
// imported (the default store), and volumes on the same cluster are
// copy-on-write clones of the images.
type RBD struct {
	CephConf  string `yaml:"ceph_conf" help:"the Ceph cluster's ceph.conf (Glance's rbd_store_ceph_conf); set, image data goes to RBD images in pool, each with a protected snapshot snap (location rbd://<fsid>/<pool>/<id>/snap)"`
	User      string `yaml:"user" help:"the cephx user, without client. (Glance's rbd_store_user); empty for client.admin"`
	Keyring   string `yaml:"keyring" help:"the user's keyring file; empty for the one ceph.conf names"`
	Pool      string `yaml:"pool" help:"the RADOS pool of the images (Glance's rbd_store_pool)"`
	ChunkSize int    `yaml:"chunk_size" help:"the images' object size in MB, a power of two up to 32 (Glance's rbd_store_chunk_size)"`
}

// Enabled reports whether image data goes to RBD.
func (r RBD) Enabled() bool { return r.CephConf != "" }

// Quota is one project's image limits.
type Quota struct {
	Images int   `yaml:"images" help:"images, -1 for no limit"`
	Bytes  int64 `yaml:"bytes" help:"bytes of image data, -1 for no limit"`
}

// Validate reports the first bad setting, its key relative to the
// section.
func (c *Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return &config.FieldError{Key: key, Problem: fmt.Sprintf(format, args...)}
	}
	switch c.HashAlgo {
	case "sha512", "sha384", "sha256", "sha224":
	default:
		return bad("hash_algo", "%q: want sha512, sha384, sha256 or sha224", c.HashAlgo)
	}
	if c.MaxImageSize <= 0 {
		return bad("max_image_size", "must be positive")
	}
	for key, v := range map[string]int{"max_properties": c.MaxProperties, "max_tags": c.MaxTags, "max_members": c.MaxMembers, "max_locations": c.MaxLocations} {
		if v < -1 {
			return bad(key, "must be -1 (no limit) or more")
		}
	}
	if c.QuotaImages < -1 || c.QuotaBytes < -1 {
		return bad("quota_images", "quotas are -1 (no limit) or more")
	}
	for p, q := range c.ProjectQuotas {
		if q.Images < -1 || q.Bytes < -1 {
			return bad("project_quotas."+p, "quotas are -1 (no limit) or more")
		}
	}
	for _, s := range c.WebDownloadAllow {
		if _, err := netip.ParsePrefix(s); err != nil {
			return bad("web_download_allow", "%q is not a CIDR", s)
		}
	}
	if c.RBD.Enabled() {
		if !rbdName.MatchString(c.RBD.Pool) {
			return bad("rbd.pool", "%q: want a pool name (letters, digits, . _ -)", c.RBD.Pool)
		}
		if c.RBD.User != "" && !rbdName.MatchString(c.RBD.User) {
			return bad("rbd.user", "%q: want a cephx id without client. (letters, digits, . _ -)", c.RBD.User)
		}
		if n := c.RBD.ChunkSize; n < 1 || n&(n-1) != 0 || n > 32 {
			return bad("rbd.chunk_size", "must be a power of two from 1 to 32")
		}
	}
	return nil
}

// rbdName is a pool or user name the store accepts.
var rbdName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// New returns the image area with Glance's defaults.
func New() *Area {
	return &Area{Config: Config{HashAlgo: "sha512", MaxImageSize: 1 << 40, QuotaImages: -1, QuotaBytes: -1, WebDownload: true,
		MaxProperties: 128, MaxTags: 128, MaxMembers: 128, MaxLocations: 10,
		RBD: RBD{Pool: "images", ChunkSize: 8}}}
}

var (
	_ compose.Area         = (*Area)(nil)
	_ compose.Configurable = (*Area)(nil)
	_ compose.Needer       = (*Area)(nil)
)

// Name is "image".
func (*Area) Name() string { return "image" }

// Section is the "image" config section.
func (a *Area) Section() any { return &a.Config }

// Needs identity: its token validator and its catalog.
func (*Area) Needs() []string { return []string{"identity"} }

// Migrations is the image schema.
func (*Area) Migrations() []sqlstore.Migrations {
	return []sqlstore.Migrations{image.Migrations()}
}

// Build opens the stores (an RBD pool connects in the background, its
// calls 503s until then), recovers writes a restart interrupted,
// registers the catalog endpoint and returns the API behind the token
// middleware. Imports running in the background (glance-direct,
// web-download) are waited for when the stack closes, however long they
// take: image.Service cannot cut them.
func (a *Area) Build(ctx context.Context, env *compose.Env) (http.Handler, error) {
	v, err := area.Validator(env)
	if err != nil {
		return nil, err
	}
	svc, err := a.service(ctx, env)
	if err != nil {
		return nil, err
	}
	if err := svc.Recover(ctx); err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	if err := a.loadMetadefs(ctx, env, svc.Store); err != nil {
		return nil, err
	}
	if err := area.Register(ctx, env, "image", "glance", env.URL); err != nil {
		return nil, err
	}
	enf := policy.New()
	if err := enf.Register(api.Defaults()...); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if a.Config.PolicyFile != "" {
		if err := enf.LoadFile(a.Config.PolicyFile); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
	}
	provideCompute(env, svc)
	provideImport(env, svc)
	provideSnapshots(env, svc)
	provideCreate(env, svc)
	h := (&api.API{Service: svc, Policy: enf, ShowMultipleLocations: a.Config.ShowLocations, ShowDirectURL: a.Config.ShowDirectURL}).Handler()
	mw := &middleware.Middleware{Validator: v, Style: httpapi.Glance, Optional: true}
	// The RBD store connects in the background, trying again while the
	// cluster cannot be reached; until then its reads and writes are
	// 503s.
	rd, onRBD := svc.Data.(*rbdData)
	if onRBD {
		env.Go("image rbd connect", func(ctx context.Context) error {
			connectRBD(ctx, env.Log, a.Config.RBD, rd, svc)
			return nil
		})
	}
	// At close, imports in progress stop (Service.Stop) and the next
	// start resumes or requeues them (Recover above).
	// The RBD store's connection closes once they have stopped (a
	// daemon has stopped serving requests by then).
	env.Go("image imports", func(ctx context.Context) error {
		<-ctx.Done()
		svc.Stop()
		if onRBD {
			rd.close()
		}
		return nil
	})
	return mw.Wrap(h), nil
}

// loadMetadefs loads Glance's default metadata definitions, as
// glance-manage db_load_metadefs, once per database.
func (a *Area) loadMetadefs(ctx context.Context, env *compose.Env, s *image.Store) error {
	dir := a.Config.MetadefsDir
	switch dir {
	case "-":
		return nil
	case "":
		if dir = image.FindMetadefs(image.MetadefDirs); dir == "" {
			return nil
		}
	}
	n, skipped, err := s.LoadMetadefs(ctx, os.DirFS(dir))
	if err != nil {
		return fmt.Errorf("metadefs: %s: %w", dir, err)
	}
	for _, e := range skipped {
		env.Log.Warn("metadefs: file skipped", "dir", dir, "err", e)
	}
	if n > 0 {
		env.Log.Info("metadefs: loaded Glance's default namespaces", "dir", dir, "namespaces", n)
	}
	return nil
}

// dir is the effective image directory.
func (a *Area) dir(core *compose.Config) string {
	if a.Config.Dir != "" {
		return a.Config.Dir
	}
	return filepath.Join(core.DataDir, "images")
}

// service builds the image.Service the configuration describes.
func (a *Area) service(ctx context.Context, env *compose.Env) (*image.Service, error) {
	dir := a.dir(env.Config)
	var data store.Store = &store.Filesystem{Dir: filepath.Join(dir, "data")}
	staging := &store.Filesystem{Dir: filepath.Join(dir, "staging")}
	for _, fs := range []*store.Filesystem{data.(*store.Filesystem), staging} {
		if err := fs.Clean(); err != nil {
			return nil, err
		}
	}
	ic := a.Config
	if ic.RBD.Enabled() {
		// Connected in the background (Build): the API serves meanwhile.
		if !rbdstore.Available {
			return nil, fmt.Errorf("image.rbd.ceph_conf is set: %w", rbdstore.ErrUnavailable)
		}
		data = &rbdData{}
	}
	records := image.NewStore(env.DB, env.Watch)
	// Glance's per-image quotas (image_property_quota, image_tag_quota,
	// image_member_quota, image_location_quota).
	records.Caps = image.Caps{Properties: ic.MaxProperties, Tags: ic.MaxTags, Members: ic.MaxMembers, Locations: ic.MaxLocations}
	svc := &image.Service{
		Store: records, Data: data, Staging: staging,
		HashAlgo: ic.HashAlgo, MaxImageSize: ic.MaxImageSize, AllowFormatMismatch: ic.FormatMismatch, Log: env.Log,
		Quota: func(project string) image.Limits {
			if q, ok := ic.ProjectQuotas[project]; ok {
				return image.Limits{Count: q.Images, Bytes: q.Bytes}
			}
			return image.Limits{Count: ic.QuotaImages, Bytes: ic.QuotaBytes}
		},
	}
	var allow []netip.Prefix
	for _, s := range ic.WebDownloadAllow {
		allow = append(allow, netip.MustParsePrefix(s)) // validated with the config
	}
	// One guard for every URL a user names: web-download's, and the
	// http(s) locations of images (read even with show_multiple_locations
	// off, since images that have them must still serve their data).
	fetch := &httpstore.Store{Client: httpstore.GuardedClient(allow, 6*time.Hour)}
	svc.External = fetch
	if ic.WebDownload {
		svc.Fetch = fetch
	}
	return svc, nil
}
