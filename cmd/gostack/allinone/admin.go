package allinone

import (
	"context"
	"net/http"

	"github.com/gostack/gostack/internal/httpapi"
	"github.com/gostack/gostack/internal/sqlstore"
	"github.com/gostack/gostack/internal/watch"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// adminHandler serves gostack's own endpoints on the admin port.
func adminHandler(db *sqlstore.DB, feed *watch.Log, reg *prometheus.Registry, areas []Area) http.Handler {
	rt := httpapi.NewRouter(httpapi.Plain)
	rt.Handle("GET /healthcheck", healthHandler(db))
	rt.Handle("HEAD /healthcheck", healthHandler(db))
	rt.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	rt.Handle("GET /v1/watch", watch.Handler{Log: feed})
	rt.HandleFunc("GET /v1/watch/{area}", func(w http.ResponseWriter, r *http.Request) {
		watch.Handler{Log: feed, Area: r.PathValue("area")}.ServeHTTP(w, r)
	})
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
