package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/identity"
	identityapi "github.com/gostack/gostack/identity/api"
	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/password"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// realAuth is an identity.Auth on SQLite with a bootstrapped admin.
func realAuth(tb testing.TB) (*identity.Auth, string) {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(tb.TempDir(), "id.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), identity.Migrations()); err != nil {
		tb.Fatal(err)
	}
	store := identity.NewStore(db, watch.New(db))
	keys, err := fernet.Setup(filepath.Join(tb.TempDir(), "keys"), 3)
	if err != nil {
		tb.Fatal(err)
	}
	auth := identity.NewAuth(store, &fernet.Formatter{Keys: keys})
	auth.Hasher = password.Hasher{Rounds: 4}
	if _, err := identity.Bootstrap(ctx, store, auth.Hasher, identity.BootstrapConfig{AdminPassword: "pw"}); err != nil {
		tb.Fatal(err)
	}
	tok, err := auth.Authenticate(ctx, identity.AuthRequest{Methods: []string{"password"},
		Password: &identity.PasswordAuth{User: identity.UserRef{Name: "admin", DomainID: "default"}, Password: "pw"},
		Scope:    identity.Scope{ProjectName: "admin", ProjectDomainID: "default"}})
	if err != nil {
		tb.Fatal(err)
	}
	return auth, tok.ID
}

// With the real identity service: a revoked token is refused on the very
// next request, although its validation was cached.
func TestWithIdentity(t *testing.T) {
	auth, tok := realAuth(t)
	h := (&middleware.Middleware{Validator: identityapi.Validator(auth)}).Wrap(echo)
	hdr := map[string]string{"X-Auth-Token": tok}
	code, body := do(h, hdr)
	if code != 200 {
		t.Fatalf("first request: %d %q", code, body)
	}
	for _, role := range []string{"admin", "member", "reader"} { // order follows role ids
		if !strings.Contains(body, role) {
			t.Fatalf("first request: role %s missing from %q", role, body)
		}
	}
	if err := auth.RevokeToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if code, _ := do(h, hdr); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}
}

// BenchmarkCached: a request through the middleware whose token's
// validation is cached (the steady state of an API service).
func BenchmarkCached(b *testing.B) {
	auth, tok := realAuth(b)
	bench(b, (&middleware.Middleware{Validator: identityapi.Validator(auth)}).Wrap(nop), tok)
}

// BenchmarkUncached: every request validates in full (Fernet, revocation
// index, store reads of user, project, domain and roles on SQLite).
func BenchmarkUncached(b *testing.B) {
	auth, tok := realAuth(b)
	bench(b, (&middleware.Middleware{Validator: uncached{auth}}).Wrap(nop), tok)
}

type uncached struct{ *identity.Auth }

func (u uncached) Generation() int64 { return u.Auth.Generation() }

func (u uncached) ValidateCaller(ctx context.Context, tok string) (middleware.Caller, error) {
	u.Auth.Changed()
	return identityapi.Validator(u.Auth).ValidateCaller(ctx, tok)
}

var nop = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

func bench(b *testing.B, h http.Handler, tok string) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Auth-Token", tok)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
