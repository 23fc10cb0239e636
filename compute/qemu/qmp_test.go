package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeQMP serves one connection on a unix socket the way QEMU does: a
// greeting, then a reply per command from answer (nil: no reply).
func fakeQMP(t *testing.T, answer func(cmd string, id json.RawMessage) []string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte(`{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}` + "\n"))
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			var req struct {
				Execute string          `json:"execute"`
				ID      json.RawMessage `json:"id"`
			}
			json.Unmarshal(sc.Bytes(), &req)
			if req.Execute == "qmp_capabilities" {
				c.Write([]byte(`{"return": {}, "id": ` + string(req.ID) + "}\n"))
				continue
			}
			for _, line := range answer(req.Execute, req.ID) {
				c.Write([]byte(line + "\n"))
			}
		}
	}()
	return sock
}

func TestMonitor(t *testing.T) {
	ctx := context.Background()
	t.Run("events and stale replies are skipped", func(t *testing.T) {
		sock := fakeQMP(t, func(cmd string, id json.RawMessage) []string {
			return []string{
				`{"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 2}}`,
				`{"return": {"status": "stale"}, "id": "999"}`,
				`{"return": {"status": "paused", "running": false}, "id": ` + string(id) + `}`,
			}
		})
		err := withMonitor(ctx, sock, func(m *monitor) error {
			st, err := m.status(ctx)
			if err == nil && st != "paused" {
				t.Errorf("status %q, want paused", st)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an error reply is a QMPError", func(t *testing.T) {
		sock := fakeQMP(t, func(cmd string, id json.RawMessage) []string {
			return []string{`{"error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}, "id": ` + string(id) + `}`}
		})
		err := withMonitor(ctx, sock, func(m *monitor) error { return m.run(ctx, "nope", nil, nil) })
		var qe *QMPError
		if !errors.As(err, &qe) || qe.Class != "CommandNotFound" || qe.Command != "nope" {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("a deadline ends a command QEMU does not answer", func(t *testing.T) {
		sock := fakeQMP(t, func(string, json.RawMessage) []string { return nil })
		err := withMonitor(ctx, sock, func(m *monitor) error {
			short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := m.run(short, "query-status", nil, nil)
			if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
				t.Errorf("after %v: %v", time.Since(start), err)
			}
			// The stream is out of step: the connection is not used again.
			if err := m.run(ctx, "query-status", nil, nil); err == nil || !strings.Contains(err.Error(), "out of step") {
				t.Errorf("second command on a broken connection: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a socket that is not QMP", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "other.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			if c, err := l.Accept(); err == nil {
				c.Write([]byte(`{"hello": 1}` + "\n"))
				time.Sleep(time.Second)
				c.Close()
			}
		}()
		if err := withMonitor(ctx, sock, func(*monitor) error { return nil }); err == nil {
			t.Fatal("connected to a socket that is not QMP")
		}
	})
	t.Run("no socket", func(t *testing.T) {
		if err := withMonitor(ctx, filepath.Join(t.TempDir(), "none.sock"), func(*monitor) error { return nil }); err == nil {
			t.Fatal("connected to nothing")
		}
	})
}
