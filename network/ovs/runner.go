package ovs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Runner runs a program and returns its standard output. stdin, when not
// nil, is its standard input. On failure the error carries the program's
// standard error. It is how this package runs ovs-ofctl, ovsdb-tool and
// the daemons; tests and embedders inject their own (a recorder, a fake,
// or one that enters a container).
type Runner func(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)

// Exec returns a Runner that executes programs with os/exec, with env
// ("KEY=value") added to the process's own environment. Daemons.Runner
// passes the instance's Env.
func Exec(env ...string) Runner {
	env = append([]string(nil), env...)
	return func(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		if len(env) > 0 {
			cmd.Env = append(os.Environ(), env...)
		}
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		// A daemon started with --detach closes its copies of our pipes
		// once it is up; do not wait for a straggler for ever.
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Run(); err != nil {
			msg := strings.TrimSpace(stderr.String())
			if msg != "" {
				return stdout.Bytes(), fmt.Errorf("%s: %w: %s", name, err, msg)
			}
			return stdout.Bytes(), fmt.Errorf("%s: %w", name, err)
		}
		return stdout.Bytes(), nil
	}
}
