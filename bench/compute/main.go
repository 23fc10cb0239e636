// Command compute measures the compute area against the physical limit,
// in the same run on the same machine: the tiny guest image booted by
// qemu-system-x86_64 by hand, with the QEMU driver's own machine and
// accelerator flags, against server create → ACTIVE → first console line
// through the all-in-one daemon (its API, scheduler, network and compute
// agents in one process, in a network namespace of its own); N servers
// created at once (until all ACTIVE, the daemon's CPU per server, against
// N bare QEMUs started at once); and the daemon killed and started again
// with M running guests (time to converge, guests restarted: 0 is the
// goal). Run it as root with bench/compute/run.
//
// The first console line is read where the guest writes it, the serial
// log file on the host: the compute agent sends console tails to the API
// on its syncs (every 10 s when nothing else wakes it), so the API's view
// is reported as well but is quantised by that.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gostack/gostack/compute/guestimage"
)

// options are the command's flags; the inner run (in the namespace) gets
// them again, with work and image set by the outer one.
type options struct {
	gostack  string // the gostack binary
	rounds   int    // single boots of each kind
	servers  int    // servers created at once
	restart  int    // running guests when the daemon is killed
	drivers  string // comma-separated: qemu, libvirt
	timeout  time.Duration
	work     string // the run's directory (inner)
	image    string // the tiny guest image (inner)
	keepLogs bool
}

func main() {
	var o options
	flag.StringVar(&o.gostack, "gostack", "", "the gostack binary (bench/compute/run builds it)")
	flag.IntVar(&o.rounds, "rounds", 3, "single boots of each kind (bare QEMU, server create), interleaved; the median is kept")
	flag.IntVar(&o.servers, "servers", 20, "servers created at once (0 skips)")
	flag.IntVar(&o.restart, "restart-guests", 50, "running guests when the daemon is killed and started again (0 skips)")
	flag.StringVar(&o.drivers, "drivers", "qemu,libvirt", "the compute drivers to measure, comma-separated")
	flag.DurationVar(&o.timeout, "timeout", 40*time.Minute, "bound on the whole run")
	flag.BoolVar(&o.keepLogs, "keep", false, "keep the run's directory (daemon logs, guest consoles) when it ends")
	inner := flag.Bool("in-namespace", false, "internal: the measuring run, started by the outer one in its network namespace")
	flag.StringVar(&o.work, "work", "", "internal: the run's directory")
	flag.StringVar(&o.image, "image", "", "internal: the tiny guest image")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("bench/compute: ")
	if o.gostack == "" {
		log.Fatal("-gostack: the gostack binary is required (bench/compute/run builds it)")
	}
	if *inner {
		os.Exit(runInner(o))
	}
	os.Exit(runOuter(o))
}

// runOuter builds the tiny image, makes a network namespace and a short
// working directory (unix socket paths are bounded), runs the bench in
// the namespace, then removes whatever the inner run may have left.
func runOuter(o options) int {
	if os.Geteuid() != 0 {
		log.Print("needs root: a network namespace, Open vSwitch, tap devices and QEMU")
		return 2
	}
	for _, b := range []string{"qemu-system-x86_64", "qemu-img", "ovs-vswitchd", "ovsdb-server", "dnsmasq", "ip"} {
		if _, err := exec.LookPath(b); err != nil {
			log.Printf("%s not found (make setup installs it)", b)
			return 2
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	img, err := guestimage.Build(ctx, guestimage.Options{Dir: filepath.Join(os.TempDir(), "gostack-guest")})
	cancel()
	if err != nil {
		log.Printf("tiny guest image: %v", err)
		return 1
	}
	work, err := os.MkdirTemp("/tmp", "gscb")
	if err != nil {
		log.Print(err)
		return 1
	}
	ns := "gscb" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		log.Printf("ip netns add %s: %v %s", ns, err, out)
		return 1
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	exec.Command("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up").Run()
	self, _ := os.Executable()
	args := []string{"netns", "exec", ns, self, "-in-namespace", "-work", work, "-image", img.Path, "-gostack", o.gostack,
		"-rounds", strconv.Itoa(o.rounds), "-servers", strconv.Itoa(o.servers), "-restart-guests", strconv.Itoa(o.restart),
		"-drivers", o.drivers, "-timeout", o.timeout.String()}
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		log.Print(err)
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var runErr error
	select {
	case runErr = <-done:
	case s := <-sig:
		cmd.Process.Signal(s) // ip exec's the bench: this is the inner run
		runErr = <-done
	}
	leftovers(work)
	if o.keepLogs {
		fmt.Printf("\nthe run's directory is kept: %s\n", work)
	} else {
		os.RemoveAll(work)
	}
	if runErr != nil {
		log.Printf("the run in the namespace: %v", runErr)
		return 1
	}
	return 0
}

// leftovers stops, by the pid files under work, whatever an inner run
// that died left running: daemons, guests, dnsmasq, Open vSwitch.
func leftovers(work string) {
	mark := map[string]string{} // pid file → what the process's command line names
	for _, pat := range []string{"*/gostack.pid", "*/data/compute/qemu/*/qemu.pid", "bare/*/qemu.pid", "*/ovs/*.pid"} {
		m, _ := filepath.Glob(filepath.Join(work, pat))
		for _, f := range m {
			mark[f] = work
		}
	}
	nets, _ := filepath.Glob(filepath.Join(work, "*/network-id"))
	for _, f := range nets {
		if b, err := os.ReadFile(f); err == nil && strings.TrimSpace(string(b)) != "" {
			id := strings.TrimSpace(string(b))
			m, _ := filepath.Glob("/run/gostack/*/dhcp/" + id + "/pid")
			for _, f := range m {
				mark[f] = id
			}
		}
	}
	for f, m := range mark {
		if killPidFile(f, m, 5*time.Second) {
			log.Printf("left running by the inner run, stopped: %s", f)
		}
	}
}

// killPidFiles ends the processes of files at once (killPidFile each).
func killPidFiles(files []string, mark string) {
	var wg sync.WaitGroup
	for _, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			killPidFile(f, mark, 5*time.Second)
		}()
	}
	wg.Wait()
}

// killPidFile ends the process in pid file f if its command line holds
// mark (a pid reused by another process is left alone): SIGTERM, then
// SIGKILL after wait. It reports whether one ran.
func killPidFile(f, mark string, wait time.Duration) bool {
	b, err := os.ReadFile(f)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !strings.Contains(string(cmdline), mark) {
		return false
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for end := time.Now().Add(wait); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return true
		}
	}
	syscall.Kill(pid, syscall.SIGKILL)
	return true
}
