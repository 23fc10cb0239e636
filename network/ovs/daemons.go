package ovs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Daemons is one Open vSwitch instance: an ovsdb-server and an
// ovs-vswitchd sharing a run directory.
type Daemons struct {
	// Dir is the run directory: conf.db, db.sock, the pid files, logs,
	// control sockets and each bridge's <bridge>.mgmt OpenFlow socket.
	Dir string
	// DB is the OVSDB endpoint, "unix:<Dir>/db.sock", for Connect.
	DB string

	system bool // the host's own instance (System): never stopped here
}

// Names of the files Start keeps in Dir.
const (
	dbFile     = "conf.db"
	dbSocket   = "db.sock"
	serverName = "ovsdb-server"
	switchName = "ovs-vswitchd"
)

// maxSocketPath is the longest path a unix socket can be dialed at
// (sun_path is 108 bytes with its terminating NUL).
const maxSocketPath = 107

// Start returns the Open vSwitch instance whose private run directory is
// dir, starting what is not running:
//
//   - if an ovsdb-server answers on dir/db.sock it is used; otherwise
//     dir/conf.db is created from the installed schema (ovsdb-tool create,
//     with the root Open_vSwitch row) or converted if the schema changed,
//     and ovsdb-server is started on it;
//   - if dir/ovs-vswitchd.pid names a live ovs-vswitchd it is used;
//     otherwise ovs-vswitchd is started with --disable-system (userspace
//     datapath only: bridges need datapath_type "netdev").
//
// Both run detached (--detach, their own session) with OVS_RUNDIR,
// OVS_LOGDIR and OVS_DBDIR set to dir, so they outlive the caller: a
// restart of the caller never interrupts traffic, and the next Start
// finds them. Start is idempotent and serialized across processes by a
// lock file in dir. dir must be short enough for dir/db.sock to be a unix
// socket path (107 bytes).
func Start(ctx context.Context, dir string) (*Daemons, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("ovs: start: %w", err)
	}
	sock := filepath.Join(dir, dbSocket)
	if len(sock) > maxSocketPath {
		return nil, fmt.Errorf("ovs: start: socket path %q is longer than %d bytes", sock, maxSocketPath)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("ovs: start: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ovs: start: %w", err)
	}
	defer unlock()

	d := &Daemons{Dir: dir, DB: "unix:" + sock}
	run := d.Runner()
	if !answers(sock) {
		if err := d.ensureDB(ctx, run); err != nil {
			return nil, err
		}
		if _, err := run(ctx, nil, serverName, filepath.Join(dir, dbFile),
			"--remote=punix:"+sock,
			"--pidfile="+d.pidFile(serverName),
			"--log-file="+filepath.Join(dir, serverName+".log"),
			"-vconsole:err", "--detach"); err != nil {
			return nil, fmt.Errorf("ovs: start %s: %w", serverName, err)
		}
	}
	if _, ok := alive(d.pidFile(switchName), switchName); !ok {
		if _, err := run(ctx, nil, switchName, d.DB,
			"--disable-system",
			"--pidfile="+d.pidFile(switchName),
			"--log-file="+filepath.Join(dir, switchName+".log"),
			"-vconsole:err", "--detach"); err != nil {
			return nil, fmt.Errorf("ovs: start %s: %w", switchName, err)
		}
	}
	return d, nil
}

// ensureDB creates dir/conf.db with its root row, or converts an existing
// one to the installed schema when it needs it.
func (d *Daemons) ensureDB(ctx context.Context, run Runner) error {
	db := filepath.Join(d.Dir, dbFile)
	if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
		if _, err := run(ctx, nil, "ovsdb-tool", "create", db); err != nil {
			return fmt.Errorf("ovs: create %s: %w", db, err)
		}
		root := `["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{}}]`
		if _, err := run(ctx, nil, "ovsdb-tool", "transact", db, root); err != nil {
			os.Remove(db)
			return fmt.Errorf("ovs: create %s: %w", db, err)
		}
		return nil
	} else if err != nil {
		return fmt.Errorf("ovs: %w", err)
	}
	out, err := run(ctx, nil, "ovsdb-tool", "needs-conversion", db)
	if err != nil {
		return fmt.Errorf("ovs: check %s: %w", db, err)
	}
	if strings.TrimSpace(string(out)) == "yes" {
		if _, err := run(ctx, nil, "ovsdb-tool", "convert", db); err != nil {
			return fmt.Errorf("ovs: convert %s: %w", db, err)
		}
	}
	return nil
}

// System returns the host's own Open vSwitch when its ovsdb-server
// answers on /run/openvswitch/db.sock (or /var/run/openvswitch/db.sock).
// Its Env is empty (the tools' defaults reach it) and Stop refuses it.
func System() (*Daemons, bool) {
	for _, dir := range []string{"/run/openvswitch", "/var/run/openvswitch"} {
		sock := filepath.Join(dir, dbSocket)
		if answers(sock) {
			return &Daemons{Dir: dir, DB: "unix:" + sock, system: true}, true
		}
	}
	return nil, false
}

// Env is the environment ("KEY=value") with which ovs-ofctl, ovs-vsctl
// and ovs-appctl reach this instance, to add to the process's own. It is
// empty for the system's instance.
func (d *Daemons) Env() []string {
	if d.system {
		return nil
	}
	return []string{"OVS_RUNDIR=" + d.Dir, "OVS_LOGDIR=" + d.Dir, "OVS_DBDIR=" + d.Dir}
}

// Runner returns an Exec Runner with Env.
func (d *Daemons) Runner() Runner { return Exec(d.Env()...) }

// OpenFlow returns the OpenFlow handle of one of this instance's bridges.
func (d *Daemons) OpenFlow(bridge string) *OpenFlow {
	return &OpenFlow{Bridge: bridge, Run: d.Runner()}
}

// Stop stops ovs-vswitchd and then ovsdb-server, each by the process id
// in its pid file (checked to be that program), with SIGTERM and, if it
// has not exited within ten seconds or ctx, SIGKILL. Traffic stops.
// The database and the run directory stay: Start brings the same
// bridges back. So do the tap devices of internal ports and the
// datapath's ovs-netdev, which OVS makes persistent: to uninstall, delete
// the bridges first. It is for tests and uninstall.
func (d *Daemons) Stop(ctx context.Context) error {
	if err := d.StopSwitch(ctx); err != nil {
		return err
	}
	if d.system {
		return ErrSystem
	}
	return stopDaemon(ctx, d.pidFile(serverName), serverName)
}

// StopSwitch stops ovs-vswitchd only, as Stop does; ovsdb-server keeps
// running. Every OpenFlow flow is lost; the next Start starts a new
// ovs-vswitchd, which rebuilds the bridges from the database.
func (d *Daemons) StopSwitch(ctx context.Context) error {
	if d.system {
		return ErrSystem
	}
	return stopDaemon(ctx, d.pidFile(switchName), switchName)
}

// PID returns the process id of a running daemon of this instance,
// "ovsdb-server" or "ovs-vswitchd", and whether it runs.
func (d *Daemons) PID(program string) (int, bool) {
	return alive(d.pidFile(program), program)
}

func (d *Daemons) pidFile(program string) string {
	return filepath.Join(d.Dir, program+".pid")
}

// answers reports whether something accepts connections on the unix
// socket at path.
func answers(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// alive reads a pid file and reports the process id and whether that
// process runs and is program (a pid file can outlive its process, and
// the pid be given to another).
func alive(pidFile, program string) (int, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, runs(pid, program)
}

// runs reports whether process pid runs and is program.
func runs(pid int, program string) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) state ...": comm may hold spaces and parentheses.
	s := string(stat)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || len(s) < end+3 {
		return false
	}
	comm, state := s[open+1:end], s[end+2]
	if state == 'Z' || state == 'X' {
		return false
	}
	const commLen = 15 // the kernel keeps this much of the name
	return comm == program || (len(program) > commLen && comm == program[:commLen])
}

// stopDaemon stops the program whose pid file is pidFile, if it runs.
func stopDaemon(ctx context.Context, pidFile, program string) error {
	pid, ok := alive(pidFile, program)
	if !ok {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("ovs: stop %s (pid %d): %w", program, pid, err)
	}
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		// The process, not its pid file, which it removes before it
		// has finished exiting.
		if !runs(pid, program) {
			return nil
		}
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		case <-deadline.C:
		}
		// It did not go in time: kill it, and remove the pid file it
		// could not.
		if runs(pid, program) {
			syscall.Kill(pid, syscall.SIGKILL)
			os.Remove(pidFile)
			for i := 0; i < 100 && runs(pid, program); i++ {
				time.Sleep(10 * time.Millisecond)
			}
		}
		return nil
	}
}

// lockDir takes an exclusive lock on dir/start.lock, so that two Starts
// on one directory (two processes) do not both create the database or
// start a daemon.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "start.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// Endpoint is the database endpoint of the Open vSwitch of run
// directory dir, started if it is not running (Start); for dir "", the
// host's own (System), which must be running.
func Endpoint(ctx context.Context, dir string) (string, error) {
	if dir == "" {
		d, ok := System()
		if !ok {
			return "", errors.New("ovs: no Open vSwitch runs on this host")
		}
		return d.DB, nil
	}
	d, err := Start(ctx, dir)
	if err != nil {
		return "", err
	}
	return d.DB, nil
}
