package testenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// Postgres is a private PostgreSQL server started for this test binary.
type Postgres struct {
	Dir  string // private directory: data, socket, log
	Port int    // TCP port on 127.0.0.1
	cmd  *exec.Cmd
	done chan struct{}
}

var (
	pgOnce sync.Once
	pgInst *Postgres
	pgErr  error
	dbSeq  atomic.Int64
)

// pgBinDirs are where Debian puts the server binaries (not on PATH).
var pgBinDirs = []string{"/usr/lib/postgresql/*/bin"}

// StartPostgres starts the binary's PostgreSQL server on first call and
// returns it; later calls return the same server. Missing binaries skip
// (fail in CI) naming the Debian package "postgresql".
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	initdb := LookPath(t, "initdb", "postgresql", pgBinDirs...)
	server := LookPath(t, "postgres", "postgresql", pgBinDirs...)
	pgOnce.Do(func() { pgInst, pgErr = startPostgres(initdb, server) })
	if pgErr != nil {
		t.Fatalf("testenv: start postgresql: %v", pgErr)
	}
	return pgInst
}

// DSN returns a DSN for database name as the superuser.
func (p *Postgres) DSN(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, name)
}

// NewDatabase creates a fresh, empty database and returns its DSN.
func (p *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	db, err := sql.Open("pgx", p.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	return p.DSN(name)
}

func startPostgres(initdb, server string) (*Postgres, error) {
	dir, err := os.MkdirTemp("", "gostack-pg-")
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	init := exec.Command(initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	init.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := init.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, lastLines(string(out), 5))
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	if cred != nil {
		os.Chown(logf.Name(), int(cred.Uid), int(cred.Gid))
	}
	args := []string{"-D", data, "-k", dir, "-p", strconv.Itoa(port), "-h", "127.0.0.1",
		"-c", "max_connections=200", "-c", "shared_buffers=64MB"}
	if os.Getenv("GOSTACK_TEST_PG_FSYNC") != "on" {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(server, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// SIGQUIT is PostgreSQL's immediate shutdown: if the test binary dies
	// without running Main's clean-up, the server goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	p := &Postgres{Dir: dir, Port: port, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	onExit(p.stop)
	if err := p.waitReady(30 * time.Second); err != nil {
		log, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("%w; log: %s", err, lastLines(string(log), 5))
	}
	return p, nil
}

func (p *Postgres) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-p.done:
			return errors.New("postgres exited during start-up")
		default:
		}
		db, err := sql.Open("pgx", p.DSN("postgres"))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err = db.PingContext(ctx)
			cancel()
			db.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %s: %v", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop asks for a fast shutdown (SIGINT), escalates to SIGQUIT, then
// removes the private directory.
func (p *Postgres) stop() {
	if p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Signal(syscall.SIGQUIT)
			<-p.done
		}
	}
	os.RemoveAll(p.Dir)
}

// serverCredential: PostgreSQL refuses to run as root, so as root the
// server runs as the "postgres" system user, which must own dir.
func serverCredential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres system user (Debian package postgresql): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
