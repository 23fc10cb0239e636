package area_test

import (
	"errors"
	"testing"

	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/area"
)

// The quotas section starts at Neutron's defaults and takes -1 (no
// limit) and more.
func TestQuotaConfig(t *testing.T) {
	q := area.New().Config.Quotas
	d := network.DefaultQuotas()
	if q.Network != d[network.QuotaNetwork] || q.Port != 500 || q.SecurityGroupRule != 100 || q.FloatingIP != 50 {
		t.Fatalf("defaults: %+v", q)
	}
	for _, tc := range []struct {
		name string
		set  func(*area.Quotas)
		key  string
	}{
		{"unlimited", func(q *area.Quotas) { q.Port = -1 }, ""},
		{"none", func(q *area.Quotas) { q.Router = 0 }, ""},
		{"below -1", func(q *area.Quotas) { q.Port = -2 }, "quotas.port"},
		{"too large", func(q *area.Quotas) { q.SecurityGroup = network.MaxQuota + 1 }, "quotas.security_group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := area.New().Config
			tc.set(&c.Quotas)
			err := c.Validate()
			var fe *config.FieldError
			if tc.key == "" && err != nil || tc.key != "" && (!errors.As(err, &fe) || fe.Key != tc.key) {
				t.Fatalf("got %v, want a problem with %q", err, tc.key)
			}
		})
	}
}
