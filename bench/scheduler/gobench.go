package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// figures are a benchmark's reported values by unit ("ns/op",
// "claims/s", ...), keyed by the benchmark's name without its
// GOMAXPROCS suffix followed by "@" and that GOMAXPROCS:
// "BenchmarkSchedule/hosts=1000/all@1".
type figures map[string]map[string]float64

// get is one figure, and whether it was there.
func (f figures) get(name, unit string) (float64, bool) {
	v, ok := f[name][unit]
	return v, ok
}

var (
	benchLine = regexp.MustCompile(`^(Benchmark\S+)\s+(\d+)\s+(.+)$`)
	procs     = regexp.MustCompile(`^(.*)-(\d+)$`)
)

// goBench runs one `go test -bench` with args, echoing its output
// indented to w, and returns the figures it reported. An error says why
// the run failed (a build failure, a benchmark's b.Fatal, the timeout);
// the figures reported before it are returned with it.
func goBench(ctx context.Context, w io.Writer, timeout time.Duration, pkg string, args ...string) (figures, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	argv := append([]string{"test", pkg, "-run", "^$", "-count", "1"}, args...)
	fmt.Fprintf(w, "$ go %s\n", strings.Join(argv, " "))
	cmd := exec.CommandContext(ctx, "go", argv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	f := parseBench(out.Bytes())
	for line := range strings.Lines(out.String()) {
		fmt.Fprintf(w, "    %s", line)
	}
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("go test %s: no answer within %v", pkg, timeout)
	} else if err != nil {
		err = fmt.Errorf("go test %s: %w (output above)", pkg, err)
	}
	return f, err
}

// parseBench reads the benchmark lines of go test's output.
func parseBench(out []byte) figures {
	f := figures{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		name, p := m[1], "1"
		if pm := procs.FindStringSubmatch(name); pm != nil {
			name, p = pm[1], pm[2]
		}
		vals := map[string]float64{}
		fields := strings.Fields(m[3])
		for i := 0; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				vals[fields[i+1]] = v
			}
		}
		f[name+"@"+p] = vals
	}
	return f
}

// note prints a line to stderr, where the progress goes.
func note(format string, a ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
}
