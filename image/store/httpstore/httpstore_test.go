package httpstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/image/store"
)

func TestHTTP(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := bytes.Repeat([]byte("abcdefgh"), 1000)
	os.WriteFile(filepath.Join(dir, "cirros.img"), data, 0o644)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir))) // real Range support
	defer srv.Close()
	h := &Store{}
	loc := srv.URL + "/cirros.img"
	if n, err := h.Stat(ctx, loc); err != nil || n != int64(len(data)) {
		t.Fatalf("stat: %d %v", n, err)
	}
	rc, err := h.Get(ctx, loc, 100, 50)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data[100:150]) {
		t.Fatalf("range: %q", got)
	}
	if _, err := h.Get(ctx, srv.URL+"/missing", 0, -1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := h.Put(ctx, loc, strings.NewReader("x"), store.PutOptions{}); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("put: %v", err)
	}
	if _, err := h.Get(ctx, "file:///etc/passwd", 0, -1); !errors.Is(err, store.ErrBadID) {
		t.Fatalf("file URL: %v", err)
	}
	deny := &Store{Allow: func(u *url.URL) error { return errors.New("host not allowed") }}
	if _, err := deny.Get(ctx, loc, 0, -1); !errors.Is(err, store.ErrBadID) {
		t.Fatalf("denied host: %v", err)
	}
}
