package compose

import (
	"context"
	"net/http"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/kit/watch/watchhttp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// adminHandler serves gostack's own endpoints on the admin port. guard,
// if an area set one (Env.ProtectAdmin), stands in front of the watch
// feed; /healthcheck and /metrics stay open for probes and scrapers.
func adminHandler(db *sqlstore.DB, feed *watch.Log, reg *prometheus.Registry, names []string, guard func(http.Handler) http.Handler) http.Handler {
	rt := httpapi.NewRouter(httpapi.Plain)
	rt.Handle("GET /healthcheck", healthHandler(db))
	rt.Handle("HEAD /healthcheck", healthHandler(db))
	rt.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if guard == nil {
		guard = func(h http.Handler) http.Handler { return h }
	}
	rt.Handle("GET /v1/watch", guard(watchhttp.Handler{Log: feed}))
	rt.Handle("GET /v1/watch/{area}", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		watchhttp.Handler{Log: feed, Area: r.PathValue("area")}.ServeHTTP(w, r)
	})))
	rt.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		head, compacted, err := feed.Head(r.Context())
		if err != nil {
			httpapi.WriteError(w, r, httpapi.Plain, err)
			return
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
