package format

import "strings"

// finding is one probe's verdict, by format name.
type finding struct {
	name string
	v    verdict
}

// resolve picks the format from the findings, as oslo's InspectWrapper and
// Glance do: a refused format is an error; more than one format is an
// error, except a partition table inside a format that carries one at
// offset 0 (a hybrid ISO, which Glance takes as iso; a fixed VHD, whose
// content is a raw disk). Before the end of the image (final false) it
// reports only errors that no further data can undo, and its pick means
// nothing.
func resolve(fs []finding, final bool) (*finding, error) {
	var found []*finding
	iso := unknown
	for i := range fs {
		f := &fs[i]
		if f.name == ISO {
			iso = f.v.state
		}
		if f.v.state == present {
			found = append(found, f)
		}
	}
	for _, f := range found {
		if f.v.err == nil {
			continue
		}
		// Glance checks only the ISO of an ISO+GPT hybrid, so the MBR
		// checks wait until the ISO probe is settled, 34 KiB in.
		if f.name == GPT && iso != absent {
			continue
		}
		return nil, f.v.err
	}
	switch {
	case len(found) == 0:
		return nil, nil
	case len(found) == 1:
		return found[0], nil
	case len(found) == 2 && found[0].name == GPT && found[1].v.host:
		return found[1], nil
	case len(found) == 2 && found[1].name == GPT && found[0].v.host:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, f := range found {
		names[i] = f.name
	}
	return nil, &SafetyError{
		Format: strings.Join(names, "+"),
		Check:  "ambiguous",
		Reason: "content matches more than one format",
	}
}

// decide builds the Result once the whole image has been seen.
func decide(fs []finding, size, read, examined int64) (Result, error) {
	f, err := resolve(fs, true)
	if err != nil {
		return Result{}, err
	}
	r := Result{Format: Raw, VirtualSize: size, Size: size, BytesRead: read, Examined: examined}
	if f != nil {
		r.Format, r.Variant = f.name, f.v.variant
		if f.v.virtual >= 0 {
			r.VirtualSize = f.v.virtual
		}
	}
	return r, nil
}
