package httpstore

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gostack/gostack/image/store"
)

// Store reads objects named by http(s) URLs. It is read-only. Allow, if
// set, vets every URL before it is fetched (Glance's web-download has
// allowed hosts and ports; set it, or anyone who can create an image can
// make the service fetch any address it can reach).
type Store struct {
	Client *http.Client
	Allow  func(*url.URL) error
}

var _ store.Store = (*Store)(nil)

func (h *Store) client() *http.Client {
	if h.Client != nil {
		return h.Client
	}
	return http.DefaultClient
}

func (h *Store) check(id string) (*url.URL, error) {
	u, err := url.Parse(id)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: want an http or https URL", store.ErrBadID)
	}
	if h.Allow != nil {
		if err := h.Allow(u); err != nil {
			return nil, fmt.Errorf("%w: %v", store.ErrBadID, err)
		}
	}
	return u, nil
}

// Get fetches length bytes from offset with a Range request.
func (h *Store) Get(ctx context.Context, id string, offset, length int64) (io.ReadCloser, error) {
	u, err := h.check(id)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if offset > 0 || length >= 0 {
		rng := "bytes=" + strconv.FormatInt(offset, 10) + "-"
		if length >= 0 {
			rng += strconv.FormatInt(offset+length-1, 10)
		}
		req.Header.Set("Range", rng)
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("store: http: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return nil, store.ErrNotFound
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		resp.Body.Close()
		return nil, store.ErrRange
	case resp.StatusCode == http.StatusOK && (offset > 0 || length >= 0):
		// The server ignored Range: skip and cut ourselves.
		if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
			resp.Body.Close()
			return nil, store.ErrRange
		}
		if length >= 0 {
			return struct {
				io.Reader
				io.Closer
			}{io.LimitReader(resp.Body, length), resp.Body}, nil
		}
		return resp.Body, nil
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusPartialContent:
		return resp.Body, nil
	}
	resp.Body.Close()
	return nil, fmt.Errorf("store: http: %s", resp.Status)
}

// Stat asks the server for the size (HEAD, Content-Length).
func (h *Store) Stat(ctx context.Context, id string) (int64, error) {
	u, err := h.check(id)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return 0, err
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return 0, fmt.Errorf("store: http: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return 0, store.ErrNotFound
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength < 0 {
		return 0, fmt.Errorf("store: http: %s, size unknown", resp.Status)
	}
	return resp.ContentLength, nil
}

// Put is not supported: HTTP locations are read-only.
func (h *Store) Put(context.Context, string, io.Reader, store.PutOptions) (store.Object, error) {
	return store.Object{}, store.ErrReadOnly
}

// Delete is not supported: HTTP locations are read-only.
func (h *Store) Delete(context.Context, string) error { return store.ErrReadOnly }
