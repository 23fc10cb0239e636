package format

import (
	"bytes"
	"strconv"
)

// descriptor is what the checks keep of a vmdk descriptor.
type descriptor struct {
	createType string // "monolithicSparse" or "streamOptimized"
	sectors    int64  // sum of the extent sizes
	extents    int
}

// descError is a failed descriptor check.
type descError struct{ check, reason string }

// vmdkTypes are the subformats oslo allows, by lower-case name.
var vmdkTypes = map[string]string{
	"monolithicsparse": "monolithicSparse",
	"streamoptimized":  "streamOptimized",
}

// parseDescriptor runs oslo's check_descriptor over a descriptor, plus
// two checks of our own: createType must appear exactly once (qemu finds it
// with strstr, oslo with index, so a second copy in a comment could make
// them disagree), and parentFileNameHint must not appear, because qemu
// opens it as a backing file, a path oslo lets through.
func parseDescriptor(b []byte) (descriptor, *descError) {
	var d descriptor
	if !isASCII(b) {
		return d, &descError{"descriptor", "descriptor is not ASCII text"}
	}
	switch n := countFold(b, "createtype"); {
	case n == 0:
		return d, &descError{"descriptor", "no createType"}
	case n > 1:
		return d, &descError{"descriptor", "createType appears " + strconv.Itoa(n) + " times"}
	}
	if countFold(b, "parentfilenamehint") > 0 {
		return d, &descError{"parent", "descriptor names a parent image (parentFileNameHint)"}
	}
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		if err := d.line(bytes.TrimSpace(line)); err != nil {
			return d, err
		}
	}
	if d.createType == "" {
		return d, &descError{"descriptor", "no createType line"}
	}
	if d.extents == 0 {
		return d, &descError{"descriptor", "no extents found"}
	}
	return d, nil
}

// line classifies one trimmed line as oslo does: blank or comment, ddb,
// key=value, extent; anything else is refused.
func (d *descriptor) line(l []byte) *descError {
	first, _, _ := bytes.Cut(l, []byte{' '})
	key, value, isKV := bytes.Cut(l, []byte{'='})
	switch {
	case len(l) == 0 || l[0] == '#':
		return nil
	case hasPrefixFold(l, "ddb"):
		return nil
	case isKV && bytes.IndexByte(key, ' ') < 0:
		if !equalFold(key, "createtype") {
			return nil
		}
		return d.setType(value)
	case equalFold(first, "rw") || equalFold(first, "rdonly") || equalFold(first, "noaccess"):
		return d.extent(l)
	default:
		return &descError{"descriptor", "invalid descriptor line " + strconv.Quote(clip(l))}
	}
}

// setType reads createType's value: a quoted name, as oslo and qemu read it.
func (d *descriptor) setType(v []byte) *descError {
	name := ""
	if len(v) > 0 && v[0] == '"' {
		if end := bytes.IndexByte(v[1:], '"'); end >= 0 {
			name = string(v[1 : 1+end])
		}
	}
	t, ok := vmdkTypes[string(bytes.ToLower([]byte(name)))]
	if !ok {
		return &descError{"descriptor", "unsupported subformat " + strconv.Quote(clip([]byte(name)))}
	}
	d.createType = t
	return nil
}

// extent checks an extent line: ACCESS SECTORS TYPE ["FILE" [OFFSET]].
// A path separator could point qemu at any file on the host.
func (d *descriptor) extent(l []byte) *descError {
	if bytes.IndexByte(l, '/') >= 0 {
		return &descError{"descriptor", "invalid extent filenames found"}
	}
	f := bytes.Fields(l)
	if len(f) < 3 {
		return &descError{"descriptor", "invalid extent line " + strconv.Quote(clip(l))}
	}
	n, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil || n < 0 || n > (1<<63-1)/sector-d.sectors {
		return &descError{"descriptor", "invalid extent size " + strconv.Quote(clip(f[1]))}
	}
	d.sectors += n
	d.extents++
	return nil
}

// clip keeps error messages short whatever the input.
func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether b starts with the lower-case ASCII prefix,
// ignoring case.
func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && equalFold(b[:len(prefix)], prefix)
}

// equalFold compares b with a lower-case ASCII string, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(s) {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// countFold counts the occurrences of the lower-case ASCII pattern in b,
// ignoring case.
func countFold(b []byte, pattern string) int {
	n := 0
	for i := 0; i+len(pattern) <= len(b); i++ {
		if lower(b[i]) == pattern[0] && equalFold(b[i:i+len(pattern)], pattern) {
			n++
		}
	}
	return n
}

func containsFold(b []byte, pattern string) bool { return countFold(b, pattern) > 0 }
