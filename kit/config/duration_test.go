package config_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/config"
)

func TestDuration(t *testing.T) {
	tests := []struct {
		in   string
		d    time.Duration
		text string
	}{
		{"30s", 30 * time.Second, "30s"},
		{"5m", 5 * time.Minute, "5m"},
		{"24h", 24 * time.Hour, "24h"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"1h0m30s", time.Hour + 30*time.Second, "1h0m30s"},
		{"1.5s", 1500 * time.Millisecond, "1.5s"},
		{"250ms", 250 * time.Millisecond, "250ms"},
		{"0", 0, "0s"},
		{"-2m", -2 * time.Minute, "-2m"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d config.Duration
			if err := d.UnmarshalText([]byte(tt.in)); err != nil {
				t.Fatal(err)
			}
			equal(t, d.D(), tt.d)
			equal(t, d.String(), tt.text)
			b, err := d.MarshalText()
			if err != nil {
				t.Fatal(err)
			}
			equal(t, string(b), tt.text)
		})
	}
}

func TestDurationErrors(t *testing.T) {
	var d config.Duration
	wantErr(t, d.UnmarshalText([]byte("5 minutes")), `config: cannot use "5 minutes" as a duration (like 30s, 5m or 24h)`)
	err := json.Unmarshal([]byte(`{"d":"soon"}`), &struct{ D *config.Duration }{})
	wantErr(t, err, `config: cannot use "soon" as a duration (like 30s, 5m or 24h)`)
	b, err := json.Marshal(struct{ D config.Duration }{config.Duration(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, string(b), `{"D":"1h"}`)
}
