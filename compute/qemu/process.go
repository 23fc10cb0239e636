package qemu

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// proc is a guest's running QEMU, held by a pidfd: signals and waits
// reach that process even if its pid is later reused.
type proc struct {
	pid int
	fd  int
}

// findProc is the guest's QEMU if it runs: the pid in the pidfile, whose
// command line carries the guest's uuid. nil if none does.
func findProc(f files, id string) (*proc, error) {
	b, err := os.ReadFile(f.pid)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("compute/qemu: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return nil, nil // a pidfile QEMU has not finished writing, or junk
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, nil // ESRCH: gone
	}
	// Checked after the pidfd is open: the process it holds is the one
	// whose command line is read (or that one has exited: no match).
	if !isGuest(pid, id) {
		unix.Close(fd)
		return nil, nil
	}
	return &proc{pid: pid, fd: fd}, nil
}

// isGuest: /proc/<pid>/cmdline has "-uuid <id>". A zombie's is empty.
func isGuest(pid int, id string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	args := bytes.Split(b, []byte{0})
	for i := 0; i+1 < len(args); i++ {
		if string(args[i]) == "-uuid" && string(args[i+1]) == id {
			return true
		}
	}
	return false
}

// close releases the pidfd once: a second close would close whatever
// descriptor the number was given to meanwhile.
func (p *proc) close() {
	if p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
}

// exited reports whether the process has ended, without waiting.
func (p *proc) exited() bool {
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0
}

// wait returns once the process has ended, or ctx's error.
func (p *proc) wait(ctx context.Context) error {
	for {
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 50)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("compute/qemu: wait for pid %d: %w", p.pid, err)
		}
		if n > 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func (p *proc) kill() error {
	if err := unix.PidfdSendSignal(p.fd, unix.SIGKILL, nil, 0); err != nil && err != unix.ESRCH {
		return fmt.Errorf("compute/qemu: kill pid %d: %w", p.pid, err)
	}
	return nil
}

// launch starts g's QEMU: taps first, then the process, which
// daemonizes once it is ready (its parent exits 0) or fails with its
// message in qemu.log. incoming, if set, is the memory state to resume.
func (d *Driver) launch(ctx context.Context, g *definition, f files, incoming *os.File) (*proc, error) {
	d.refreshKeys(g, f)
	args, err := commandLine(g, f, d.accel, d.reach(g.ID), incoming != nil)
	if err != nil {
		return nil, err
	}
	if err := d.plugPorts(ctx, g.Ports); err != nil {
		return nil, err
	}
	// The pidfile is not removed first: QEMU locks it while it runs, so
	// a second QEMU of the guest (a pidfile someone overwrote) fails to
	// start instead of sharing the disk with the first.
	logf, err := os.OpenFile(f.log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("compute/qemu: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(d.binary, args...)
	// A file, not a pipe: the daemon keeps it as its stderr (-D), and
	// Wait would otherwise wait for the guest to end.
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = f.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if incoming != nil {
		cmd.ExtraFiles = []*os.File{incoming}
	}
	start := time.Now()
	// Not bound to ctx: killing the parent would leave the daemon
	// half-started; QEMU's own start-up is what bounds it.
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("compute/qemu: start guest %s: %s", g.ID, qemuMessage(f.log, err))
	}
	p, err := findProc(f, g.ID)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("compute/qemu: start guest %s: no process after start: %s", g.ID, qemuMessage(f.log, nil))
	}
	d.log.Info("compute/qemu: started", "guest", g.ID, "pid", p.pid, "incoming", incoming != nil, "took", time.Since(start))
	d.throttleAll(ctx, g, f)
	return p, nil
}

// qemuMessage is what QEMU said in its log, or err when it said nothing.
func qemuMessage(log string, err error) string {
	b, _ := os.ReadFile(log)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	if len(lines) == 0 {
		if err == nil {
			return "qemu said nothing"
		}
		return err.Error()
	}
	return strings.Join(lines, "; ")
}
