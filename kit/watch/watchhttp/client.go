package watchhttp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gostack/gostack/kit/watch"
)

var _ watch.Source = (*Client)(nil)

// Client reads a feed served by Handler. The zero HTTP uses a client
// without a global timeout (long polls are bounded by the server's
// timeout and by ctx).
type Client struct {
	URL     string              // the feed endpoint
	HTTP    *http.Client        // nil for a default client
	Prepare func(*http.Request) // e.g. add X-Auth-Token; may be nil
}

// Wait long-polls the feed. q.Area is ignored: the URL picks the area.
func (c *Client) Wait(ctx context.Context, q watch.Query, timeout time.Duration) (watch.Batch, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return watch.Batch{}, fmt.Errorf("watch: client: %w", err)
	}
	v := u.Query()
	v.Set("since", strconv.FormatInt(q.Since, 10))
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	v.Set("timeout", strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64))
	u.RawQuery = v.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return watch.Batch{}, fmt.Errorf("watch: client: %w", err)
	}
	if c.Prepare != nil {
		c.Prepare(req)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return watch.Batch{}, fmt.Errorf("watch: client: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var b watch.Batch
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
			return watch.Batch{}, fmt.Errorf("watch: client: decode batch: %w", err)
		}
		return b, nil
	case http.StatusGone:
		h, _ := strconv.ParseInt(resp.Header.Get(HeaderCompacted), 10, 64)
		return watch.Batch{}, &watch.CompactedError{Since: q.Since, Horizon: h}
	default:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return watch.Batch{}, fmt.Errorf("watch: client: %s: %s", resp.Status, body)
	}
}
