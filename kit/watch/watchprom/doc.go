// Package watchprom exports a watch feed's measurements to Prometheus: it
// is the watch.Observer the all-in-one daemon gives its feed.
//
// What it does not do: serve /metrics (the caller mounts promhttp on its
// registry).
package watchprom
