package watch

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the feed's Prometheus collectors.
type Metrics struct {
	head    prometheus.Gauge
	horizon prometheus.Gauge
	waiters prometheus.Gauge
	lag     *prometheus.HistogramVec
}

// NewMetrics registers the feed's collectors on reg:
// gostack_watch_head_revision, gostack_watch_compacted_revision,
// gostack_watch_waiters and gostack_watch_delivery_seconds{area} (time
// from a change's commit to its delivery to a watcher: the feed's lag).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
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
	for _, c := range []prometheus.Collector{m.head, m.horizon, m.waiters, m.lag} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
		}
	}
	return m, nil
}
