package allinone

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/image/api"
	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/image/store/httpstore"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
)

// ImageArea is the Glance v2 service: records in the store, data in
// files under image.dir, behind the identity area's token validation.
type ImageArea struct{}

var _ Area = ImageArea{}

// Name is "image".
func (ImageArea) Name() string { return "image" }

// Migrations is the image schema.
func (ImageArea) Migrations() []sqlstore.Migrations {
	return []sqlstore.Migrations{image.Migrations()}
}

// Handler opens the stores, recovers writes a restart interrupted,
// registers the catalog endpoint and returns the API behind the token
// middleware.
func (ImageArea) Handler(ctx context.Context, env Env) (http.Handler, error) {
	cfg := env.Config
	var v middleware.Validator
	if env.Validator != nil {
		v = env.Validator()
	}
	if v == nil {
		return nil, errors.New("image: needs the identity area (list it before image)")
	}
	svc, err := imageService(cfg, env)
	if err != nil {
		return nil, err
	}
	if err := svc.Recover(ctx); err != nil {
		return nil, fmt.Errorf("image: recover: %w", err)
	}
	url := env.publicURL()
	ids := identity.NewStore(env.DB, env.Watch)
	if err := identity.EnsureService(ctx, ids, cfg.Region, "image", "glance",
		map[string]string{"public": url, "internal": url, "admin": url}); err != nil {
		return nil, fmt.Errorf("image: catalog: %w", err)
	}
	enf := policy.New()
	if err := enf.Register(api.Defaults()...); err != nil {
		return nil, fmt.Errorf("image: policy: %w", err)
	}
	if cfg.Image.PolicyFile != "" {
		if err := enf.LoadFile(cfg.Image.PolicyFile); err != nil {
			return nil, fmt.Errorf("image: policy: %w", err)
		}
	}
	h := (&api.API{Service: svc, Policy: enf}).Handler()
	mw := &middleware.Middleware{Validator: v, Style: httpapi.Glance, Optional: true}
	go func() { <-ctx.Done(); svc.Wait() }()
	return mw.Wrap(h), nil
}

// imageService builds the image.Service the configuration describes.
func imageService(cfg *Config, env Env) (*image.Service, error) {
	dir := cfg.imageDir()
	data := &store.Filesystem{Dir: filepath.Join(dir, "data")}
	staging := &store.Filesystem{Dir: filepath.Join(dir, "staging")}
	for _, fs := range []*store.Filesystem{data, staging} {
		if err := fs.Clean(); err != nil {
			return nil, fmt.Errorf("image: %w", err)
		}
	}
	ic := cfg.Image
	records := image.NewStore(env.DB, env.Watch)
	// Glance's per-image quotas (image_property_quota, image_tag_quota,
	// image_member_quota).
	records.Caps = image.Caps{Properties: ic.MaxProperties, Tags: ic.MaxTags, Members: ic.MaxMembers}
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
	if ic.WebDownload {
		var allow []netip.Prefix
		for _, s := range ic.WebDownloadAllow {
			allow = append(allow, netip.MustParsePrefix(s)) // validated with the config
		}
		svc.Fetch = &httpstore.Store{Client: httpstore.GuardedClient(allow, 6*time.Hour)}
	}
	return svc, nil
}
