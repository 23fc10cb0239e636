package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// scenario is a golden test's input: hosts, a request and a
// configuration (Nova's option names, over DefaultConfig with seed 1).
type scenario struct {
	Description string          `json:"description"`
	Config      json.RawMessage `json:"config"`
	Hosts       []*Host         `json:"hosts"`
	Request     Request         `json:"request"`
	// ReserveFail are hosts whose reservation fails (a lost race).
	ReserveFail []string `json:"reserve_fail"`
}

// TestGolden runs every testdata/golden/*.json scenario and compares
// what the scheduler says with the .golden file next to it: the ranking
// of the first instance with each weigher's part, each filter's counts,
// then the placements or the no-valid-host explanation. Run with
// -update to rewrite the golden files.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.json")
	if err != nil || len(files) < 8 {
		t.Fatalf("want at least 8 scenarios, found %d (%v)", len(files), err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			got := runScenario(t, file)
			golden := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, golden, got, want)
			}
		})
	}
}

func runScenario(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sc scenario
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&sc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	cfg := DefaultConfig()
	cfg.Seed = 1
	if len(sc.Config) > 0 {
		cd := json.NewDecoder(bytes.NewReader(sc.Config))
		cd.DisallowUnknownFields()
		if err := cd.Decode(&cfg); err != nil {
			t.Fatalf("%s: config: %v", file, err)
		}
	}
	for _, h := range sc.Hosts {
		h.Figures = FiguresFrom(h.Resources)
	}
	res := newFakeReserver(sc.ReserveFail...)
	s, err := New(cfg, Builtins(), res)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", sc.Description)
	ctx := context.Background()
	b.WriteString("\n== rank (first instance)\n")
	r, err := s.Rank(ctx, sc.Hosts, &sc.Request)
	if err != nil {
		writeErr(&b, err)
	} else {
		writeRanking(&b, r)
	}
	b.WriteString("\n== schedule\n")
	out, err := s.Schedule(ctx, sc.Hosts, &sc.Request)
	if err != nil {
		writeErr(&b, err)
	} else {
		writeResult(&b, out)
	}
	if len(res.log) > 0 {
		b.WriteString("\n== reservations\n")
		for _, l := range res.log {
			fmt.Fprintf(&b, "%s\n", l)
		}
	}
	return b.String()
}

func writeErr(b *strings.Builder, err error) {
	var nvh *NoValidHost
	if errors.As(err, &nvh) {
		b.WriteString(nvh.Explain())
		return
	}
	fmt.Fprintf(b, "error: %v\n", err)
}

func writeRanking(b *strings.Builder, r *Ranking) {
	for _, f := range r.Filters {
		fmt.Fprintf(b, "%s: (start: %d, end: %d)\n", f.Filter, f.Start, f.End)
		writeReasons(b, f.Rejected, f.Start-f.End)
	}
	for i, w := range r.Hosts {
		fmt.Fprintf(b, "%2d. %-8s %s", i+1, w.Host.label(), formatWeight(w.Weight))
		for _, s := range w.Scores {
			if s.Normalized == 0 && s.Raw == 0 {
				continue
			}
			fmt.Fprintf(b, "  %s %s->%.4f*%s", strings.TrimSuffix(s.Weigher, "Weigher"),
				strconv.FormatFloat(s.Raw, 'f', -1, 64), s.Normalized, strconv.FormatFloat(s.Multiplier, 'f', -1, 64))
		}
		b.WriteByte('\n')
	}
}

func writeResult(b *strings.Builder, r *Result) {
	for _, p := range r.Placements {
		uuid := p.InstanceUUID
		if uuid == "" {
			uuid = "-"
		}
		fmt.Fprintf(b, "instance %d %s -> %s (%s)", p.Index, uuid, p.Host.label(), formatWeight(p.Weight))
		if len(p.Alternates) > 0 {
			fmt.Fprintf(b, " alternates %s", strings.Join(hostNames(p.Alternates), ", "))
		}
		b.WriteByte('\n')
	}
	if r.Shortfall != nil {
		b.WriteString("shortfall: ")
		b.WriteString(r.Shortfall.Explain())
	}
}
