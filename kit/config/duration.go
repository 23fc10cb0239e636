package config

import (
	"encoding"
	"fmt"
	"strings"
	"time"
)

// Duration is a time.Duration written as "30s", "5m" or "24h" in YAML, env
// vars and flags, and printed back the same way. Plain time.Duration
// fields are read the same way; Duration also marshals itself for
// encoding/json and yaml.v3 users.
type Duration time.Duration

var (
	_ encoding.TextMarshaler   = Duration(0)
	_ encoding.TextUnmarshaler = (*Duration)(nil)
)

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d without zero units: "24h", "5m", "1h30m", "1.5s".
func (d Duration) String() string { return formatDuration(time.Duration(d)) }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with time.ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("config: cannot use %q as a duration (like 30s, 5m or 24h)", b)
	}
	*d = Duration(v)
	return nil
}

func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
