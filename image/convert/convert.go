package convert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"github.com/gostack/gostack/image/format"
	"github.com/gostack/gostack/kit/fault"
)

// qemuNames maps Glance disk formats to qemu-img's.
var qemuNames = map[string]string{
	format.Raw: "raw", format.QCOW2: "qcow2", format.VMDK: "vmdk", format.VHD: "vpc",
	format.VHDX: "vhdx", format.VDI: "vdi",
}

// targets are the formats Convert writes.
var targets = map[string]bool{format.Raw: true, format.QCOW2: true}

// Converter runs qemu-img. The zero value uses qemu-img and prlimit from
// PATH, 1 GiB of address space and 120 s of CPU (OpenStack's limits for
// qemu-img info are 1 GiB and 30 s; conversion reads the whole image).
type Converter struct {
	QemuImg    string // default "qemu-img"
	Prlimit    string // default "prlimit"; "-" runs without limits
	AddrSpace  uint64 // bytes; default 1 GiB
	CPUSeconds int    // default 120; below 0 no CPU limit (a volume's conversion takes about 3 s of CPU per GiB written)
}

// ErrNotSupported: a format Convert does not read or write.
var ErrNotSupported = fmt.Errorf("convert: format not supported: %w", fault.ErrBadRequest)

// Convert writes src (declared as from) to dst in format to. It refuses,
// before running qemu-img, a source that fails inspection or is not what
// it is declared to be. On failure dst does not exist.
func (c *Converter) Convert(ctx context.Context, src, from, dst, to string) (format.Result, error) {
	in, ok := qemuNames[from]
	if !ok {
		return format.Result{}, fmt.Errorf("%w: cannot read %q", ErrNotSupported, from)
	}
	if !targets[to] {
		return format.Result{}, fmt.Errorf("%w: cannot write %q (raw or qcow2)", ErrNotSupported, to)
	}
	res, err := format.InspectFile(ctx, src)
	if err != nil {
		return format.Result{}, err
	}
	if res.Format != from {
		return format.Result{}, fmt.Errorf("convert: %s is declared %s but is %s: %w", src, from, res.Format, format.ErrMismatch)
	}
	args := []string{"convert", "-f", in, "-O", qemuNames[to], src, dst}
	if err := c.run(ctx, args); err != nil {
		os.Remove(dst)
		return format.Result{}, err
	}
	out, err := format.InspectFile(ctx, dst)
	if err == nil && out.Format != to {
		err = fmt.Errorf("convert: qemu-img wrote %s, not %s", out.Format, to)
	}
	if err != nil {
		os.Remove(dst)
		return format.Result{}, err
	}
	return out, nil
}

func (c *Converter) run(ctx context.Context, args []string) error {
	qemu := c.QemuImg
	if qemu == "" {
		qemu = "qemu-img"
	}
	name, argv := qemu, args
	if c.Prlimit != "-" {
		as, cpu := c.AddrSpace, c.CPUSeconds
		if as == 0 {
			as = 1 << 30
		}
		if cpu == 0 {
			cpu = 120
		}
		name = c.Prlimit
		if name == "" {
			name = "prlimit"
		}
		limits := []string{"--as=" + strconv.FormatUint(as, 10)}
		if cpu > 0 {
			limits = append(limits, "--cpu="+strconv.Itoa(cpu))
		}
		argv = append(append(limits, "--", qemu), args...)
	}
	cmd := exec.CommandContext(ctx, name, argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("convert: qemu-img %s: %v: %s", args[0], err, bytes.TrimSpace(stderr.Bytes()))
		}
		return fmt.Errorf("convert: %w", err)
	}
	return nil
}

// FromRaw writes src, read as raw whatever it holds, to dst in format
// to: for a volume's content, which a guest wrote and which may look
// like any format. qemu-img is told the source is raw, so nothing in it
// is followed (no backing file, no data file); the result is inspected
// before it is returned. On failure dst does not exist.
func (c *Converter) FromRaw(ctx context.Context, src, dst, to string) (format.Result, error) {
	if !targets[to] {
		return format.Result{}, fmt.Errorf("%w: cannot write %q (raw or qcow2)", ErrNotSupported, to)
	}
	if err := c.run(ctx, []string{"convert", "-f", "raw", "-O", qemuNames[to], src, dst}); err != nil {
		os.Remove(dst)
		return format.Result{}, err
	}
	if to == format.Raw {
		// The guest's bytes again: they may look like anything.
		fi, err := os.Stat(dst)
		if err != nil {
			os.Remove(dst)
			return format.Result{}, fmt.Errorf("convert: %w", err)
		}
		return format.Result{Format: format.Raw, Size: fi.Size(), VirtualSize: fi.Size()}, nil
	}
	out, err := format.InspectFile(ctx, dst)
	if err == nil && out.Format != to {
		err = fmt.Errorf("convert: qemu-img wrote %s, not %s", out.Format, to)
	}
	if err != nil {
		os.Remove(dst)
		return format.Result{}, err
	}
	return out, nil
}
