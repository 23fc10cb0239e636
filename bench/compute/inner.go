package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// runInner is the run in the namespace: each driver's measurements.
func runInner(o options) int {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	header(o)
	code := 0
	for _, d := range strings.Split(o.drivers, ",") {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		fmt.Printf("\n=== driver %s ===\n", d)
		if why := skipDriver(d); why != "" {
			fmt.Printf("skipped: %s\n", why)
			continue
		}
		if err := runDriver(ctx, o, d); err != nil {
			log.Printf("driver %s: %v", d, err)
			code = 1
		}
	}
	return code
}

// runDriver measures driver d; for libvirt, against a private system
// Open vSwitch and libvirtd (see privateSystem).
func runDriver(ctx context.Context, o options, d string) error {
	if d == "libvirt" {
		sys, err := startPrivateSystem(ctx, o.work)
		if sys != nil {
			defer sys.stop()
		}
		if err != nil {
			return err
		}
		fmt.Println("(a private system Open vSwitch and libvirtd in this namespace; QEMU as root, domain type qemu)")
	}
	return measure(ctx, o, d)
}

func header(o options) {
	v, _ := exec.Command("qemu-system-x86_64", "--version").Output()
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("bench/compute: %d CPUs, %s, TCG; image %s\n", runtime.NumCPU(), firstLine(string(v)), filepath.Base(o.image))
	fmt.Printf("load average at the start: %s(other work on the machine disturbs every figure)\n", firstLine(string(load)))
	fmt.Printf("consoles are read from the guests' serial log files every %v; times are seconds\n", pollEvery)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s) + " "
}

// skipDriver says why a driver cannot be measured here, or "".
func skipDriver(d string) string {
	switch d {
	case "qemu":
		return ""
	case "libvirt":
		for _, f := range []string{"/usr/sbin/libvirtd", "/usr/sbin/virtlogd",
			"/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so"} {
			if _, err := os.Stat(f); err != nil {
				return f + " not found (libvirt-daemon-system, libvirt-daemon-driver-qemu)"
			}
		}
		return ""
	}
	return fmt.Sprintf("unknown driver %q (qemu, libvirt)", d)
}

// measure starts a daemon with driver d and measures it.
func measure(ctx context.Context, o options, d string) error {
	c := newCloud(o.work, d)
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	defer c.stop()
	if _, err := c.start(o.gostack); err != nil {
		return err
	}
	if err := c.ready(ctx); err != nil {
		return err
	}
	project, err := c.connect(ctx)
	if err != nil {
		return err
	}
	if err := c.setup(ctx, project, o.image); err != nil {
		return err
	}
	if err := single(ctx, o, c); err != nil {
		return err
	}
	var ids []string
	if o.servers > 0 {
		if ids, err = burst(ctx, o, c); err != nil {
			return err
		}
	}
	if o.restart > 0 {
		return restart(ctx, o, c, ids)
	}
	return nil
}

// ready waits for the daemon's health and its compute host.
func (c *cloud) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := c.healthy(ctx); err != nil {
		return err
	}
	if _, err := c.connect(ctx); err != nil {
		return err
	}
	return c.hostUp(ctx)
}
