package dhcp

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// Where pidfd_open is unavailable (an old kernel, a seccomp filter), a
// process is signalled by pid and watched through /proc; a zombie
// counts as gone.
func TestProcWithoutPidfd(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep: %v", err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill() // if the test fails before stop
	// Right after Start the child may not have exec'd sleep yet: its
	// cmdline is empty until it has.
	args := cmdline(cmd.Process.Pid)
	for end := time.Now().Add(5 * time.Second); len(args) == 0 && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		args = cmdline(cmd.Process.Pid)
	}
	p := &proc{pid: cmd.Process.Pid, fd: -1, args: args}
	if len(p.args) == 0 || p.exited() {
		t.Fatalf("a running process: args %q, exited %v", p.args, p.exited())
	}
	if err := p.stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !p.exited() {
		t.Fatal("still there after stop")
	}
}
