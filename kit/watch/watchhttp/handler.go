package watchhttp

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/watch"
)

// Headers set on feed responses.
const (
	HeaderRevision  = "X-Gostack-Revision"           // the batch's Revision
	HeaderCompacted = "X-Gostack-Compacted-Revision" // the horizon, on 410
)

// DefaultTimeout and MaxTimeout bound a long poll (watch.Follow polls with
// DefaultTimeout too).
const (
	DefaultTimeout = 30 * time.Second
	MaxTimeout     = 120 * time.Second
)

// Handler serves one area's feed (area "" serves every area):
//
//	GET ...?since=REV[&limit=N][&timeout=SECONDS]
//
// 200 with a Batch (possibly empty after the timeout); 410 when since is
// behind the compaction horizon (resync needed; the horizon is in the
// X-Gostack-Compacted-Revision header); 400 naming the bad parameter.
// Scope, if set, picks the project whose changes the caller may see ("" =
// all); it is where the API layer plugs in tenant isolation.
type Handler struct {
	Log   *watch.Log
	Area  string
	Scope func(*http.Request) (project string, err error)
}

func (h Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q, timeout, err := h.parse(r)
	if err != nil {
		httpapi.WriteError(w, r, httpapi.Plain, err)
		return
	}
	ctx, cancel := httpapi.UntilStopping(r.Context()) // shutdown answers long polls at once
	defer cancel()
	b, err := h.Log.Wait(ctx, q, timeout)
	if ce, ok := err.(*watch.CompactedError); ok {
		w.Header().Set(HeaderCompacted, strconv.FormatInt(ce.Horizon, 10))
	}
	if err != nil {
		httpapi.WriteError(w, r, httpapi.Plain, err)
		return
	}
	w.Header().Set(HeaderRevision, strconv.FormatInt(b.Revision, 10))
	httpapi.WriteJSON(w, http.StatusOK, b)
}

func (h Handler) parse(r *http.Request) (watch.Query, time.Duration, error) {
	v := r.URL.Query()
	q := watch.Query{Area: h.Area}
	var err error
	if s := v.Get("since"); s != "" {
		if q.Since, err = strconv.ParseInt(s, 10, 64); err != nil || q.Since < 0 {
			return q, 0, fault.Invalid("since", "since must be a non-negative integer revision, got %q", s)
		}
	}
	if s := v.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 1 {
			return q, 0, fault.Invalid("limit", "limit must be a positive integer, got %q", s)
		}
	}
	timeout := DefaultTimeout
	if s := v.Get("timeout"); s != "" {
		secs, err := strconv.ParseFloat(s, 64)
		if err != nil || secs < 0 {
			return q, 0, fault.Invalid("timeout", "timeout must be a non-negative number of seconds, got %q", s)
		}
		timeout = min(time.Duration(secs*float64(time.Second)), MaxTimeout)
	}
	if h.Scope != nil {
		if q.Project, err = h.Scope(r); err != nil {
			return q, 0, err
		}
	}
	return q, timeout, nil
}
