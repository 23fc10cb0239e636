package iscsi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// admError is tgtadm's refusal: its exit status and its message
// ("this target already exists").
type admError struct {
	msg string
}

func (e *admError) Error() string { return "tgtadm: " + e.msg }

// Messages of tgtadm (tgt's usr/tgtadm.c) that the package acts on.
const (
	msgTargetExists  = "this target already exists"
	msgNoTarget      = "can't find the target"
	msgAccountExists = "this account already exists"
	msgNoAccount     = "can't find the account"
	msgACLExists     = "this access control rule already exists"
	msgNoACL         = "this access control rule does not exist"
	msgNoBinding     = "can't find the binding"
)

// isAdm reports whether err is tgtadm's refusal saying msg.
func isAdm(err error, msg string) bool {
	var a *admError
	return errors.As(err, &a) && strings.Contains(a.msg, msg)
}

// tgtadm runs tgtadm -C <ControlPort> --lld iscsi args and returns its
// output. Its arguments may hold a password: they are never logged nor
// put in an error; callers name the operation themselves.
func (e *Exporter) tgtadm(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{"-C", strconv.Itoa(e.ControlPort), "--lld", "iscsi"}, args...)
	cmd := exec.CommandContext(ctx, e.tgtadmPath(), full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return nil, fmt.Errorf("tgtadm: %w", err)
		}
		msg := strings.TrimSpace(stderr.String())
		msg = strings.TrimPrefix(msg, "tgtadm: ")
		if msg == "" {
			msg = exit.String()
		}
		return nil, &admError{msg: msg}
	}
	return stdout.Bytes(), nil
}

// show is every target of tgtd.
func (e *Exporter) show(ctx context.Context) ([]Target, error) {
	out, err := e.tgtadm(ctx, "--mode", "target", "--op", "show")
	if err != nil {
		// tgtadm says "Transport endpoint is not connected", "Connection
		// reset by peer"... depending on how tgtd went.
		if !answers(e.socketPath()) {
			return nil, fmt.Errorf("%w on control port %d: %v", ErrNotRunning, e.ControlPort, err)
		}
		return nil, fmt.Errorf("iscsi: show targets: %w", err)
	}
	return parseTargets(bytes.NewReader(out))
}

// Targets returns every target of tgtd, this Exporter's and others', as
// tgtadm shows them. It does not start tgtd: ErrNotRunning when none
// runs.
func (e *Exporter) Targets(ctx context.Context) ([]Target, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	return e.show(ctx)
}
