package fernet

import (
	"encoding/binary"
	"errors"
	"math"
)

// A minimal msgpack, enough for Keystone payloads, that emits exactly what
// Python's msgpack >= 1.0 emits for the same values (use_bin_type=True):
// the smallest unsigned int format, float64 as 0xcb, bytes as bin, str as
// fixstr/str8/str16/str32, tuples as arrays.

func appendArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v < 128:
		return append(b, byte(v))
	case v < 1<<8:
		return append(b, 0xcc, byte(v))
	case v < 1<<16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v < 1<<32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

func appendFloat64(b []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(v))
}

func appendBin(b []byte, v []byte) []byte {
	switch n := len(v); {
	case n < 1<<8:
		b = append(b, 0xc4, byte(n))
	case n < 1<<16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, v...)
}

func appendStr(b []byte, v string) []byte {
	switch n := len(v); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n < 1<<8:
		b = append(b, 0xd9, byte(n))
	case n < 1<<16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, v...)
}

// Decoded values: nil, bool, int64, uint64, float64, []byte (bin),
// mpStr (str, raw bytes: old tokens carry binary data in str), []any.
type mpStr []byte

const maxDepth = 8

var errMsgpack = errors.New("bad msgpack")

type mpDecoder struct {
	b     []byte
	depth int
}

// unpack decodes exactly one value that fills all of b.
func unpack(b []byte) (any, error) {
	d := &mpDecoder{b: b}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	if len(d.b) != 0 {
		return nil, errMsgpack // Python's unpackb: ExtraData
	}
	return v, nil
}

func (d *mpDecoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b) {
		return nil, errMsgpack
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v, nil
}

func (d *mpDecoder) uint(n int) (uint64, error) {
	v, err := d.take(n)
	if err != nil {
		return 0, err
	}
	var x uint64
	for _, c := range v {
		x = x<<8 | uint64(c)
	}
	return x, nil
}

func (d *mpDecoder) value() (any, error) {
	c, err := d.take(1)
	if err != nil {
		return nil, err
	}
	t := c[0]
	switch {
	case t < 0x80:
		return int64(t), nil
	case t >= 0xe0:
		return int64(int8(t)), nil
	case t&0xf0 == 0x90:
		return d.array(int(t & 0x0f))
	case t&0xe0 == 0xa0:
		return d.bytes(int(t&0x1f), true)
	}
	switch t {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := d.uint(1 << (t - 0xc4))
		if err != nil {
			return nil, err
		}
		return d.bytes(int(n), false)
	case 0xd9, 0xda, 0xdb:
		n, err := d.uint(1 << (t - 0xd9))
		if err != nil {
			return nil, err
		}
		return d.bytes(int(n), true)
	case 0xca:
		v, err := d.uint(4)
		return float64(math.Float32frombits(uint32(v))), err
	case 0xcb:
		v, err := d.uint(8)
		return math.Float64frombits(v), err
	case 0xcc, 0xcd, 0xce, 0xcf:
		return d.uint(1 << (t - 0xcc))
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (t - 0xd0)
		v, err := d.uint(size)
		shift := 64 - 8*size
		return int64(v<<shift) >> shift, err
	case 0xdc, 0xdd:
		n, err := d.uint(2 << (t - 0xdc))
		if err != nil {
			return nil, err
		}
		return d.array(int(n))
	}
	return nil, errMsgpack // maps, ext types and reserved bytes: not in payloads
}

func (d *mpDecoder) bytes(n int, str bool) (any, error) {
	v, err := d.take(n)
	if err != nil {
		return nil, err
	}
	if str {
		return mpStr(v), nil
	}
	return v, nil
}

func (d *mpDecoder) array(n int) (any, error) {
	if n > len(d.b) || d.depth >= maxDepth { // every element takes a byte at least
		return nil, errMsgpack
	}
	d.depth++
	defer func() { d.depth-- }()
	out := make([]any, n)
	for i := range out {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
