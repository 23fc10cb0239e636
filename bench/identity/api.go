package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/api"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// apiRates measures POST /v3/auth/tokens over HTTP on loopback: with the
// password method (bcrypt at Keystone's default cost 12 dominates) and
// with the token method (no password check).
func apiRates(dir string, d time.Duration) (password, token float64) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "bench.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), identity.Migrations()); err != nil {
		log.Fatal(err)
	}
	store := identity.NewStore(db, watch.New(db))
	keys, err := fernet.Setup(filepath.Join(dir, "api-keys"), 3)
	if err != nil {
		log.Fatal(err)
	}
	auth := identity.NewAuth(store, &fernet.Formatter{Keys: keys}) // bcrypt cost 12
	if _, err := identity.Bootstrap(ctx, store, auth.Hasher, identity.BootstrapConfig{AdminPassword: "bench"}); err != nil {
		log.Fatal(err)
	}
	enf := policy.New()
	enf.Register(policy.KeystoneDefaults()...)
	srv := httptest.NewServer((&api.API{Auth: auth, Store: store, Policy: enf}).Handler())
	defer srv.Close()
	pwBody := []byte(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"bench"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}`)
	tok := post(srv.URL, pwBody)
	tokBody := []byte(fmt.Sprintf(`{"auth":{"identity":{"methods":["token"],"token":{"id":%q}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}`, tok))
	password = rate(d, func() { post(srv.URL, pwBody) })
	token = rate(d, func() { post(srv.URL, tokBody) })
	return password, token
}

func post(url string, body []byte) string {
	resp, err := http.Post(url+"/v3/auth/tokens?nocatalog", "application/json", bytes.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		log.Fatalf("POST /v3/auth/tokens: %s", resp.Status)
	}
	return resp.Header.Get("X-Subject-Token")
}
