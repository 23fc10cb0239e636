package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gostack/gostack/compute"
	kitagent "github.com/gostack/gostack/kit/agent"
)

// computeURL is the compute API's listener root, where the internal
// routes are.
func (a *Agent) computeURL(ctx context.Context) (string, error) {
	if a.ComputeURL != "" {
		return strings.TrimSuffix(a.ComputeURL, "/"), nil
	}
	ep, err := a.Session.Endpoint(ctx, "compute")
	if err != nil {
		return "", err
	}
	return listenerRoot(ep), nil
}

// listenerRoot cuts a catalog URL of the compute API
// (http://ctl:8774/v2.1, .../v2.1/<project>) to its root.
func listenerRoot(ep string) string {
	u, err := url.Parse(ep)
	if err != nil {
		return strings.TrimSuffix(ep, "/")
	}
	if i := strings.Index(u.Path+"/", "/v2"); i >= 0 {
		u.Path = u.Path[:i]
	}
	u.RawPath = ""
	return strings.TrimSuffix(u.String(), "/")
}

// hostURL is the internal route of this host, with suffix.
func (a *Agent) hostURL(ctx context.Context, suffix string) (string, error) {
	base, err := a.computeURL(ctx)
	if err != nil {
		return "", err
	}
	return base + "/internal/compute/hosts/" + url.PathEscape(a.Config.Host) + suffix, nil
}

// hostState reads the host's desired state.
func (a *Agent) hostState(ctx context.Context) (compute.HostState, error) {
	var st compute.HostState
	u, err := a.hostURL(ctx, "")
	if err != nil {
		return st, err
	}
	if err := a.Session.Do(ctx, http.MethodGet, u, nil, &st); err != nil {
		return st, fmt.Errorf("compute agent: host state: %w", err)
	}
	return st, nil
}

// put sends in as JSON to the host's route suffix.
func (a *Agent) put(ctx context.Context, suffix string, in any) error {
	u, err := a.hostURL(ctx, suffix)
	if err != nil {
		return err
	}
	return a.Session.Do(ctx, http.MethodPut, u, in, nil)
}

// status is the HTTP status of an answer error, 0 for another error.
func status(err error) int {
	var e *kitagent.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// apiMessage is the message of an OpenStack error answer
// ({"itemNotFound": {"code": 404, "message": "..."}}), "" for another
// error.
func apiMessage(err error) string {
	var e *kitagent.Error
	if !errors.As(err, &e) {
		return ""
	}
	var body map[string]struct {
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(e.Body), &body) != nil || len(body) != 1 {
		return ""
	}
	for _, v := range body {
		return v.Message
	}
	return ""
}

// lasting reports whether err will not go away by sending the same
// request again: a 4xx other than 408 and 429.
func lasting(err error) bool {
	s := status(err)
	return s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests
}

// reportInstance tells the controller a task ended. It retries an error
// that may pass (the controller unreachable, a 5xx) until ctx ends, so
// an operation that was done is not done again for a lost answer; a 409
// (the instance moved on to another task) and a 404 (it is gone) end it
// quietly: the next Sync acts on what the instance is now.
func (a *Agent) reportInstance(ctx context.Context, id string, r compute.InstanceReport) error {
	var bo backoff
	for {
		err := a.put(ctx, "/instances/"+url.PathEscape(id), r)
		switch s := status(err); {
		case err == nil:
			return nil
		case s == http.StatusConflict || s == http.StatusNotFound:
			a.log().Info("compute agent: report refused, the instance moved on", "instance", id, "task", r.Task, "status", s)
			return nil
		case lasting(err) || ctx.Err() != nil:
			return err
		}
		a.log().Warn("compute agent: report failed; retrying", "instance", id, "task", r.Task, "err", err)
		if !bo.sleep(ctx) {
			return ctx.Err()
		}
	}
}

// send is a request with a raw body (nil for none) and the session's
// token, sent once more with a new token after a 401. The caller closes
// the answer's body; an answer other than 2xx is a *kitagent.Error.
func (a *Agent) send(ctx context.Context, method, u, contentType string, body []byte) (*http.Response, error) {
	return a.sendBody(ctx, method, u, contentType, func() (io.ReadCloser, int64, error) {
		if body == nil {
			return nil, 0, nil
		}
		return io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
	})
}

// sendFile is send with the content of file path as the body.
func (a *Agent) sendFile(ctx context.Context, method, u, contentType, path string) (*http.Response, error) {
	return a.sendBody(ctx, method, u, contentType, kitagent.FileBody(path))
}

// sendBody is send with a body made by open for each attempt (nil: no
// body).
func (a *Agent) sendBody(ctx context.Context, method, u, contentType string, open func() (io.ReadCloser, int64, error)) (*http.Response, error) {
	resp, err := a.Session.Stream(ctx, a.HTTP, method, u, contentType, func() (io.ReadCloser, int64, error) {
		if open == nil {
			return nil, 0, nil
		}
		rd, size, err := open()
		if err != nil {
			return nil, 0, fmt.Errorf("compute agent: %w", err)
		}
		return rd, size, nil
	})
	if err != nil {
		return nil, fmt.Errorf("compute agent: %w", err)
	}
	return resp, nil
}

// backoff doubles from 100 ms to 10 s.
type backoff struct{ d time.Duration }

// sleep waits the next delay; false if ctx ended first.
func (b *backoff) sleep(ctx context.Context) bool {
	b.d = min(max(2*b.d, 100*time.Millisecond), 10*time.Second)
	t := time.NewTimer(b.d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
