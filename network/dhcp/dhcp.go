package dhcp

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Route is a classless static route (options 121 and 249).
type Route struct {
	Destination netip.Prefix
	NextHop     netip.Addr // 0.0.0.0 = on-link
}

// Subnet is one IPv4 subnet of the network, served to the hosts whose
// IP is in CIDR.
type Subnet struct {
	ID      string // letters, digits, '.', '_', '-' (a UUID)
	CIDR    netip.Prefix
	Gateway netip.Addr // zero = none: the router option is sent empty
	DNS     []netip.Addr
	// Routes are the subnet's host routes. A route to 0.0.0.0/0 stands
	// for the gateway when Gateway is zero and is dropped otherwise, as
	// in Neutron.
	Routes []Route
	MTU    int           // 0 = not sent
	Lease  time.Duration // 0 = 24h, negative = infinite, else at least 2m
}

// Host is one port's address on one subnet: the client with MAC gets IP
// and Hostname. A port with addresses on two subnets is two Hosts with
// the same PortID and MAC.
type Host struct {
	PortID   string // the port, for the duplicate checks and errors; may be empty
	MAC      string
	Hostname string // one DNS label; "" = host-<ip with dashes>, as Neutron
	IP       netip.Addr
}

// Config is what one network's DHCP service serves. Order does not
// matter: subnets and hosts are written sorted.
type Config struct {
	Subnets []Subnet
	Hosts   []Host
	Domain  string // option 15 and the addn_hosts names; "" = "openstacklocal"
}

// Server is one network's DHCP service: dnsmasq serving Interface inside
// network namespace Namespace ("" = the caller's), with its files, pid
// file and leases in Dir. The zero value plus those fields is ready; a new
// Server with the same Dir adopts a dnsmasq that is already running.
type Server struct {
	Dir       string // dnsmasq's files; it and its parents must be searchable by others
	Namespace string // a name under /run/netns, or a path; "" = the caller's namespace
	Interface string // the DHCP port's device, with an address in each subnet
	Dnsmasq   string // the binary; "" = "dnsmasq" from PATH
	LogFile   string // dnsmasq's own log (--log-facility); "" = syslog
	Log       *slog.Logger

	mu sync.Mutex // one Apply or Stop at a time
}

// The files in Dir.
const (
	fileHost   = "host"
	fileAddn   = "addn_hosts"
	fileOpts   = "opts"
	fileLeases = "leases"
	filePid    = "pid"
	// fileLoaded is "<pid> <digest>": what that dnsmasq has read, so a
	// second Apply of the same Config signals nothing, even from a new
	// agent, and a crash between writing the files and SIGHUP is healed.
	fileLoaded = "loaded"
)

// Apply makes the running service serve cfg: it writes the host,
// addn_hosts and opts files atomically; if dnsmasq is not running it
// starts it; if only hosts or options changed it sends SIGHUP; it
// restarts dnsmasq only when its command line must change (subnets added
// or removed, a lease time or MTU changed). Then it releases the leases
// of hosts no longer in cfg (a DHCPRELEASE to dnsmasq, as Neutron's
// dhcp_release), so their addresses can go to new ports at once.
// Applying the same cfg again does nothing. The leases file is kept
// across restarts. A cfg or Server it refuses is an error wrapping
// ErrInvalid, and nothing is changed.
func (s *Server) Apply(ctx context.Context, cfg Config) error {
	dir, err := s.dir()
	if err != nil {
		return err
	}
	if err := s.validate(); err != nil {
		return err
	}
	pl, err := render(cfg, params{dir: dir, iface: s.Interface, bin: s.binary(), logFile: s.LogFile})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := makeDir(dir); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{fileHost, pl.host}, {fileAddn, pl.addn}, {fileOpts, pl.opts}} {
		if err := writeFile(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	if err := s.converge(ctx, dir, pl); err != nil {
		return err
	}
	return s.releaseStale(dir, pl.hosts)
}

// converge starts, restarts or reloads dnsmasq so that it serves the
// files just written and has pl's command line, or does nothing.
func (s *Server) converge(ctx context.Context, dir string, pl *plan) error {
	log := s.log().With("dir", dir)
	p, running := findProc(pl.pidFile)
	if running {
		defer p.close()
		if !slices.Equal(p.args[1:], pl.args[1:]) {
			log.Info("dhcp: restarting dnsmasq, its command line changed", "pid", p.pid)
			if err := p.stop(ctx); err != nil {
				return err
			}
			running = false
		}
	}
	if !running {
		np, err := s.start(ctx, pl)
		if err != nil {
			return err
		}
		np.close()
		log.Info("dhcp: dnsmasq started", "pid", np.pid)
		return writeFile(filepath.Join(dir, fileLoaded), loaded(np.pid, pl.digest))
	}
	want := loaded(p.pid, pl.digest)
	if have, _ := os.ReadFile(filepath.Join(dir, fileLoaded)); string(have) == string(want) {
		log.Debug("dhcp: dnsmasq up to date", "pid", p.pid)
		return nil
	}
	if err := p.signal(unix.SIGHUP); err != nil {
		return fmt.Errorf("dhcp: reload dnsmasq %d: %w", p.pid, err)
	}
	log.Info("dhcp: dnsmasq reloaded", "pid", p.pid)
	return writeFile(filepath.Join(dir, fileLoaded), want)
}

// Running returns the pid of the dnsmasq serving Dir, if one runs: the
// pid in its pid file, whose /proc/<pid>/cmdline names that pid file.
func (s *Server) Running() (pid int, ok bool) {
	dir, err := s.dir()
	if err != nil {
		return 0, false
	}
	p, ok := findProc(filepath.Join(dir, filePid))
	if !ok {
		return 0, false
	}
	p.close()
	return p.pid, true
}

// Stop stops the dnsmasq serving Dir (SIGTERM, SIGKILL if it lingers),
// found by its pid file, and removes Dir, leases included. Stopping what
// is not running only removes Dir.
func (s *Server) Stop(ctx context.Context) error {
	dir, err := s.dir()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := findProc(filepath.Join(dir, filePid)); ok {
		defer p.close()
		if err := p.stop(ctx); err != nil {
			return err
		}
		s.log().Info("dhcp: dnsmasq stopped", "dir", dir, "pid", p.pid)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("dhcp: remove %s: %w", dir, err)
	}
	return nil
}

// dir is Dir, absolute: dnsmasq's command line names its files by it.
func (s *Server) dir() (string, error) {
	if s.Dir == "" {
		return "", fmt.Errorf("%w: no Dir", ErrInvalid)
	}
	dir, err := filepath.Abs(s.Dir)
	if err != nil {
		return "", fmt.Errorf("%w: Dir %q: %v", ErrInvalid, s.Dir, err)
	}
	if dir == "/" {
		return "", fmt.Errorf("%w: Dir is /", ErrInvalid)
	}
	return dir, nil
}

func (s *Server) validate() error {
	switch {
	case s.Interface == "" || len(s.Interface) > 15 || strings.ContainsAny(s.Interface, "/,: \t\n"):
		return fmt.Errorf("%w: Interface %q is not a device name", ErrInvalid, s.Interface)
	case strings.Contains(s.Namespace, "/") && !filepath.IsAbs(s.Namespace):
		return fmt.Errorf("%w: Namespace %q is neither a name nor an absolute path", ErrInvalid, s.Namespace)
	case strings.ContainsAny(s.LogFile, "\n") || (s.LogFile != "" && !filepath.IsAbs(s.LogFile)):
		return fmt.Errorf("%w: LogFile %q is not an absolute path", ErrInvalid, s.LogFile)
	}
	return nil
}

func (s *Server) binary() string {
	if s.Dnsmasq == "" {
		return "dnsmasq"
	}
	return s.Dnsmasq
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func loaded(pid int, digest string) []byte {
	return []byte(strconv.Itoa(pid) + " " + digest + "\n")
}
