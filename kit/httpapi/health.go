package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Health serves /healthcheck the way oslo.middleware's healthcheck does:
// 200 with the text body "OK" when every registered check passes, 503
// naming each failing check otherwise. The zero value is usable and has no
// checks. Failing checks' errors are logged, not shown: they may carry
// addresses or credentials.
type Health struct {
	mu     sync.Mutex
	checks []healthCheck
}

type healthCheck struct {
	name string
	fn   func(context.Context) error
}

var _ http.Handler = (*Health)(nil)

// Register adds a named check, run on every health request in the order of
// registration with the request's context. Names must be unique and
// non-empty.
func (h *Health) Register(name string, check func(context.Context) error) error {
	if name == "" || check == nil {
		return errors.New("httpapi: health check needs a name and a function")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.checks {
		if c.name == name {
			return fmt.Errorf("httpapi: health check %q already registered", name)
		}
	}
	h.checks = append(h.checks, healthCheck{name, check})
	return nil
}

// ServeHTTP answers GET and HEAD; other methods get 405 with an Allow
// header.
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeText(w, http.StatusMethodNotAllowed, http.StatusText(http.StatusMethodNotAllowed))
		return
	}
	h.mu.Lock()
	checks := h.checks[:len(h.checks):len(h.checks)]
	h.mu.Unlock()

	var failed []string
	for _, c := range checks {
		if err := c.fn(r.Context()); err != nil {
			Logger(r.Context()).WarnContext(r.Context(), "health check failed", "check", c.name, "error", err.Error())
			failed = append(failed, c.name)
		}
	}
	if len(failed) > 0 {
		writeText(w, http.StatusServiceUnavailable, "FAILED: "+strings.Join(failed, ", "))
		return
	}
	writeText(w, http.StatusOK, "OK")
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
