package httpapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts and times the requests of one service. Build it with
// NewMetrics and wrap the service's handler with Middleware.
type Metrics struct {
	service  string
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	conns    prometheus.Gauge
}

// NewMetrics returns the metrics of service registered on reg:
//
//	gostack_http_requests_total{service,route,method,code}
//	gostack_http_request_duration_seconds{service,route,method}
//	gostack_http_open_connections{service}
//
// code 499 counts requests whose client went away before the answer
// (nginx's "client closed request"), 408 those whose body stalled: both
// are the client's doing, not the server's, and stay out of 5xx.
//
// All services share one collector of each name per registry and differ by
// the service label, so NewMetrics may be called for many services, or for
// the same one twice, on one registry: a collector already registered is
// reused. A nil reg leaves the collectors unregistered (useful in tests).
// Nothing is registered on the global default registry unless the caller
// passes it.
func NewMetrics(reg prometheus.Registerer, service string) (*Metrics, error) {
	if service == "" {
		return nil, errors.New("httpapi: metrics need a service name")
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gostack_http_requests_total",
		Help: "HTTP requests served, by service, route pattern, method and status code.",
	}, []string{"service", "route", "method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gostack_http_request_duration_seconds",
		Help:    "Time to serve HTTP requests, by service, route pattern and method.",
		Buckets: prometheus.DefBuckets,
	}, []string{"service", "route", "method"})
	conns := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gostack_http_open_connections",
		Help: "HTTP connections open, by service.",
	}, []string{"service"})
	if reg != nil {
		var err error
		if requests, err = register(reg, requests); err != nil {
			return nil, err
		}
		if duration, err = register(reg, duration); err != nil {
			return nil, err
		}
		if conns, err = register(reg, conns); err != nil {
			return nil, err
		}
	}
	return &Metrics{service: service, requests: requests, duration: duration, conns: conns.WithLabelValues(service)}, nil
}

// register registers c on reg, or returns the equal collector that is
// already there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, fmt.Errorf("httpapi: register metrics: %w", err)
}

// Middleware counts and times each request under the route pattern it
// matched (see Router), or "unmatched", never the raw path, so that label
// cardinality stays bounded. Methods outside the standard set are counted
// as "other" for the same reason.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, rt := withRoute(r)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route, method := routeLabel(rt, r), methodLabel(r.Method)
		m.requests.WithLabelValues(m.service, route, method, strconv.Itoa(sw.code())).Inc()
		m.duration.WithLabelValues(m.service, route, method).Observe(time.Since(start).Seconds())
	})
}

// connState is an http.Server.ConnState hook that keeps the open
// connections gauge.
func (m *Metrics) connState(_ net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		m.conns.Inc()
	case http.StateClosed, http.StateHijacked:
		m.conns.Dec()
	}
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions,
		http.MethodConnect, http.MethodTrace:
		return m
	default:
		return "other"
	}
}
