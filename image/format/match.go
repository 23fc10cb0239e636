package format

import "fmt"

// inspectable are the disk formats an Inspector can recognise, oslo's
// ALL_FORMATS. Content of any other declared format (ami, ari, aki,
// ploop, ...) is expected to look raw.
var inspectable = map[string]bool{
	Raw: true, QCOW2: true, VHD: true, VHDX: true, VMDK: true,
	VDI: true, QED: true, ISO: true, GPT: true, LUKS: true,
}

// Matches applies Glance's rule (glance/location.py) to a declared
// disk_format and the inspected content:
//
//   - the same format: fine, and r.VirtualSize is the image's virtual size;
//   - raw content and a format nobody can inspect (ami, ari, aki, ...): fine;
//   - declared raw but richer content found: fine with warn set; Glance
//     logs it and records r.Size, not r.VirtualSize, as the virtual size;
//   - anything else: an error wrapping ErrMismatch.
//
// Matches does not repeat the safety checks: r exists only for images that
// passed them.
func Matches(declared string, r Result) (warn bool, err error) {
	switch {
	case declared == r.Format:
		return false, nil
	case r.Format == Raw && !inspectable[declared]:
		return false, nil
	case declared == Raw:
		return true, nil
	}
	return false, fmt.Errorf("format: disk_format %q but content is %q: %w", declared, r.Format, ErrMismatch)
}
