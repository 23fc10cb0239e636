package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// commandTimeout bounds one QMP exchange (connecting, or a command and
// its reply) when the caller's context allows longer: every command the
// driver sends returns at once, so a QEMU that takes longer is stuck.
const commandTimeout = 30 * time.Second

// monitor is one QMP connection, used by one operation and closed: see
// the package doc. It is not safe for concurrent use.
type monitor struct {
	conn   *net.UnixConn
	r      *bufio.Reader
	seq    int
	broken bool // a deadline cut an exchange short: the stream is out of step
}

// request is a QMP command; id comes back in the reply.
type request struct {
	Execute   string `json:"execute"`
	Arguments any    `json:"arguments,omitempty"`
	ID        string `json:"id"`
}

// message is anything QEMU sends: a greeting, a reply or an event.
type message struct {
	QMP    json.RawMessage `json:"QMP"`
	Event  string          `json:"event"`
	ID     string          `json:"id"`
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
}

// withMonitor connects to a guest's QMP socket, runs fn and disconnects.
func withMonitor(ctx context.Context, sock string, fn func(*monitor) error) error {
	m, err := dialMonitor(ctx, sock)
	if err != nil {
		return err
	}
	defer m.close()
	return fn(m)
}

// dialMonitor connects and completes QMP's greeting and capabilities
// negotiation.
func dialMonitor(ctx context.Context, sock string) (*monitor, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("compute/qemu: qmp: %w", err)
	}
	m := &monitor{conn: c.(*net.UnixConn), r: bufio.NewReader(c)}
	if err := m.greeting(ctx); err != nil {
		m.close()
		return nil, err
	}
	if err := m.run(ctx, "qmp_capabilities", nil, nil); err != nil {
		m.close()
		return nil, err
	}
	return m, nil
}

func (m *monitor) greeting(ctx context.Context) error {
	defer m.bound(ctx)()
	msg, err := m.read(ctx)
	if err != nil {
		return fmt.Errorf("compute/qemu: qmp greeting: %w", err)
	}
	if msg.QMP == nil {
		return errors.New("compute/qemu: qmp greeting: not a QMP socket")
	}
	return nil
}

// run sends a command and decodes its return value into out (nil: the
// value is not wanted).
func (m *monitor) run(ctx context.Context, cmd string, args, out any) error {
	return m.send(ctx, cmd, args, nil, out)
}

// runWithFile sends a command with a file descriptor beside it
// (SCM_RIGHTS), as getfd wants.
func (m *monitor) runWithFile(ctx context.Context, cmd string, args any, f *os.File) error {
	return m.send(ctx, cmd, args, f, nil)
}

func (m *monitor) send(ctx context.Context, cmd string, args any, f *os.File, out any) error {
	if m.broken {
		return fmt.Errorf("compute/qemu: qmp %s: connection out of step after an earlier timeout", cmd)
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	defer m.bound(ctx)()
	m.seq++
	id := strconv.Itoa(m.seq)
	b, err := json.Marshal(request{Execute: cmd, Arguments: args, ID: id})
	if err != nil {
		return fmt.Errorf("compute/qemu: qmp %s: %w", cmd, err)
	}
	b = append(b, '\n')
	if f != nil {
		_, _, err = m.conn.WriteMsgUnix(b, unix.UnixRights(int(f.Fd())), nil)
		runtime.KeepAlive(f)
	} else {
		_, err = m.conn.Write(b)
	}
	if err != nil {
		return m.fail(ctx, cmd, err)
	}
	for {
		msg, err := m.read(ctx)
		if err != nil {
			return m.fail(ctx, cmd, err)
		}
		if msg.Event != "" || msg.ID != id {
			continue // events are not used; a stale reply is not ours
		}
		if msg.Error != nil {
			return &QMPError{Command: cmd, Class: msg.Error.Class, Desc: msg.Error.Desc}
		}
		if out != nil {
			if err := json.Unmarshal(msg.Return, out); err != nil {
				return fmt.Errorf("compute/qemu: qmp %s: reply: %w", cmd, err)
			}
		}
		return nil
	}
}

// bound makes the connection's reads and writes end once ctx does (not
// at its deadline: then a read could fail before ctx.Err says why); the
// returned func undoes it.
func (m *monitor) bound(ctx context.Context) func() {
	stop := context.AfterFunc(ctx, func() { m.conn.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		m.conn.SetDeadline(time.Time{})
	}
}

func (m *monitor) read(ctx context.Context) (*message, error) {
	line, err := m.r.ReadBytes('\n')
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	var msg message
	if err := json.Unmarshal(line, &msg); err != nil {
		return nil, fmt.Errorf("undecodable message %.80q: %w", line, err)
	}
	return &msg, nil
}

func (m *monitor) fail(ctx context.Context, cmd string, err error) error {
	m.broken = true
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("compute/qemu: qmp %s: %w", cmd, err)
}

func (m *monitor) close() { m.conn.Close() }

// status is query-status's answer: QEMU's run state.
func (m *monitor) status(ctx context.Context) (string, error) {
	var st struct {
		Status string `json:"status"`
	}
	if err := m.run(ctx, "query-status", nil, &st); err != nil {
		return "", err
	}
	return st.Status, nil
}
