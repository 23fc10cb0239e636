package watchprom

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gostack/gostack/kit/watch"
)

// Metrics are the feed's Prometheus collectors, a watch.Observer.
type Metrics struct {
	head    prometheus.Gauge
	horizon prometheus.Gauge
	waiters prometheus.Gauge
	lag     *prometheus.HistogramVec
}

// New registers the feed's collectors on reg:
// gostack_watch_head_revision, gostack_watch_compacted_revision,
// gostack_watch_waiters and gostack_watch_delivery_seconds{area} (time
// from a change's commit to its delivery to a watcher: the feed's lag).
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		head: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gostack_watch_head_revision", Help: "Latest revision appended to the watch feed by this process.",
		}),
		horizon: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gostack_watch_compacted_revision", Help: "Compaction horizon of the watch feed.",
		}),
		waiters: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gostack_watch_waiters", Help: "Watchers currently long-polling the feed.",
		}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gostack_watch_delivery_seconds",
			Help:    "Time from a change's commit to its delivery to a watcher.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"area"}),
	}
	var err error
	for _, g := range []*prometheus.Gauge{&m.head, &m.horizon, &m.waiters} {
		if *g, err = register(reg, *g); err != nil {
			return nil, err
		}
	}
	if m.lag, err = register(reg, m.lag); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c on reg, or returns the equal collector already
// there, so that New called twice on one registry feeds the same series.
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
	return zero, fmt.Errorf("watchprom: register: %w", err)
}

var _ watch.Observer = (*Metrics)(nil)

// Head sets gostack_watch_head_revision.
func (m *Metrics) Head(rev int64) { m.head.Set(float64(rev)) }

// Compacted sets gostack_watch_compacted_revision.
func (m *Metrics) Compacted(horizon int64) { m.horizon.Set(float64(horizon)) }

// Waiters moves gostack_watch_waiters.
func (m *Metrics) Waiters(delta int) { m.waiters.Add(float64(delta)) }

// Delivered observes gostack_watch_delivery_seconds{area}.
func (m *Metrics) Delivered(area string, lag time.Duration) {
	m.lag.WithLabelValues(area).Observe(lag.Seconds())
}
