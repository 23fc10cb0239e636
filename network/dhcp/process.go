package dhcp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// proc is a running dnsmasq of one Dir. dnsmasq daemonizes, so it is not
// the agent's child: it is found by its pid file, and held by a pidfd so
// a signal cannot reach a process that took its pid after it exited.
type proc struct {
	pid  int
	fd   int // pidfd; -1 where pidfd_open is unavailable (signals by pid then)
	args []string
}

// findProc returns the dnsmasq whose pid is in pidFile, if that process
// is alive and its command line names pidFile.
func findProc(pidFile string) (*proc, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return nil, false
	}
	// Open the pidfd first, then check the command line: if the check
	// passes, the pidfd is that process.
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil, false
	} else if err != nil {
		fd = -1
	}
	args := cmdline(pid)
	if !slices.Contains(args, "--pid-file="+pidFile) || !strings.Contains(filepath.Base(args[0]), "dnsmasq") {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, false
	}
	return &proc{pid: pid, fd: fd, args: args}, true
}

// cmdline is /proc/<pid>/cmdline; nil for a process that is gone or a
// zombie.
func cmdline(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

func (p *proc) close() {
	if p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
}

func (p *proc) signal(sig unix.Signal) error {
	if p.fd >= 0 {
		return unix.PidfdSendSignal(p.fd, sig, nil, 0)
	}
	return unix.Kill(p.pid, sig)
}

// exited reports whether the process has ended (a zombie has: dnsmasq's
// parent is init, which reaps it in its own time).
func (p *proc) exited() bool {
	if p.fd >= 0 {
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		return err == nil && n > 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/stat")
	if err != nil {
		return true
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X' || !slices.Equal(cmdline(p.pid), p.args)
}

// stop ends the process: SIGTERM, then SIGKILL if it is still there
// after five seconds.
func (p *proc) stop(ctx context.Context) error {
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGKILL} {
		if err := p.signal(sig); errors.Is(err, unix.ESRCH) {
			return nil
		} else if err != nil {
			return fmt.Errorf("dhcp: stop dnsmasq %d: %w", p.pid, err)
		}
		if p.wait(ctx, 5*time.Second) {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("dhcp: stop dnsmasq %d: %w", p.pid, ctx.Err())
		}
	}
	return fmt.Errorf("dhcp: stop dnsmasq %d: still running after SIGKILL", p.pid)
}

// wait reports whether the process exited within d.
func (p *proc) wait(ctx context.Context, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !p.exited() {
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-tick.C:
		}
	}
	return true
}

// start runs dnsmasq, which daemonizes: the foreground process exits
// once the daemon has bound its sockets and written its pid file, with
// an error and a message on stderr if it could not.
func (s *Server) start(ctx context.Context, pl *plan) (*proc, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, pl.args[0], pl.args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second // the daemon closes them; never hang on it
	err := inNamespace(s.Namespace, cmd.Start)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return nil, fmt.Errorf("dhcp: start dnsmasq: %w: %s", err, strings.TrimSpace(out.String()))
	}
	for range 100 {
		if p, ok := findProc(pl.pidFile); ok {
			return p, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dhcp: start dnsmasq: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("dhcp: start dnsmasq: no dnsmasq runs with pid file %s: %s", pl.pidFile, strings.TrimSpace(out.String()))
}

// inNamespace runs fn on a thread in network namespace ns (a name under
// /run/netns or a path; "" = the caller's). A child process started by fn
// lives in that namespace. The thread is never unlocked, so it ends with
// its goroutine instead of going back to the scheduler in the wrong
// namespace.
func inNamespace(ns string, fn func() error) error {
	if ns == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		var h netns.NsHandle
		var err error
		if strings.Contains(ns, "/") {
			h, err = netns.GetFromPath(ns)
		} else {
			h, err = netns.GetFromName(ns)
		}
		if err != nil {
			errc <- fmt.Errorf("dhcp: namespace %s: %w", ns, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- fmt.Errorf("dhcp: enter namespace %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
