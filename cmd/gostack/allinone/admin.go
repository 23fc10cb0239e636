package allinone

import (
	"context"
	"net/http"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/kit/watch/watchhttp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// adminHandler serves gostack's own endpoints on the admin port. With a
// validator (the identity area runs), the watch feed needs a token with
// the admin or service role: it shows every change of every project.
// /healthcheck and /metrics stay open for probes and scrapers.
func adminHandler(db *sqlstore.DB, feed *watch.Log, reg *prometheus.Registry, areas []Area, v middleware.Validator) http.Handler {
	rt := httpapi.NewRouter(httpapi.Plain)
	rt.Handle("GET /healthcheck", healthHandler(db))
	rt.Handle("HEAD /healthcheck", healthHandler(db))
	rt.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	protect := func(h http.Handler) http.Handler { return h }
	if v != nil {
		mw := &middleware.Middleware{Validator: v, Style: httpapi.Plain}
		protect = func(h http.Handler) http.Handler { return mw.Wrap(requireRole(h, "admin", "service")) }
	}
	rt.Handle("GET /v1/watch", protect(watchhttp.Handler{Log: feed}))
	rt.Handle("GET /v1/watch/{area}", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		watchhttp.Handler{Log: feed, Area: r.PathValue("area")}.ServeHTTP(w, r)
	})))
	rt.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		head, compacted, err := feed.Head(r.Context())
		if err != nil {
			httpapi.WriteError(w, r, httpapi.Plain, err)
			return
		}
		names := []string{}
		for _, a := range areas {
			names = append(names, a.Name())
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{
			"name":  "gostack",
			"areas": names,
			"store": db.Dialect().String(),
			"watch": map[string]int64{"revision": head, "compacted": compacted},
		})
	})
	return rt
}

// healthHandler answers /healthcheck: 200 OK while the store answers.
func healthHandler(db *sqlstore.DB) http.Handler {
	h := &httpapi.Health{}
	h.Register("database", func(ctx context.Context) error { return db.SQL().PingContext(ctx) })
	return h
}

// requireRole lets through callers holding one of roles, else 403.
func requireRole(h http.Handler, roles ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := middleware.CallerFrom(r.Context()); ok {
			for _, role := range roles {
				if c.HasRole(role) {
					h.ServeHTTP(w, r)
					return
				}
			}
		}
		httpapi.WriteError(w, r, httpapi.Plain, fault.New(fault.Forbidden, "the watch feed needs the admin or service role"))
	})
}
