package watchprom_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gostack/gostack/kit/watch/watchprom"
)

// Two feeds' metrics on one registry feed the same series: the second New
// must not keep collectors the registry never exports.
func TestNewTwiceOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := watchprom.New(reg); err != nil {
		t.Fatal(err)
	}
	second, err := watchprom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	second.Head(42)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "gostack_watch_head_revision" {
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v != 42 {
				t.Fatalf("head revision exported as %v, want 42", v)
			}
			return
		}
	}
	t.Fatal("gostack_watch_head_revision not exported")
}
