package format

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/fault"
)

func TestMatches(t *testing.T) {
	tests := []struct {
		declared string
		detected string
		warn     bool
		ok       bool
	}{
		{QCOW2, QCOW2, false, true},
		{Raw, Raw, false, true},
		{ISO, ISO, false, true},
		{"ami", Raw, false, true},
		{"aki", Raw, false, true},
		{"ploop", Raw, false, true},
		{Raw, QCOW2, true, true},
		{Raw, GPT, true, true},
		{QCOW2, Raw, false, false},
		{VMDK, QCOW2, false, false},
		{"ami", QCOW2, false, false},
		{ISO, GPT, false, false},
		{VHD, VHDX, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.declared+"/"+tt.detected, func(t *testing.T) {
			warn, err := Matches(tt.declared, Result{Format: tt.detected})
			if warn != tt.warn || (err == nil) != tt.ok {
				t.Fatalf("Matches = %v, %v; want warn %v ok %v", warn, err, tt.warn, tt.ok)
			}
			if err != nil && (!errors.Is(err, ErrMismatch) || fault.KindOf(err) != fault.BadRequest) {
				t.Fatalf("error %v: not ErrMismatch / BadRequest", err)
			}
		})
	}
}

func TestSafetyError(t *testing.T) {
	err := error(&SafetyError{Format: QCOW2, Check: "backing_file", Reason: "image has a backing file"})
	if got, want := err.Error(), "format: qcow2: backing_file: image has a backing file"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrUnsafe) || !errors.Is(err, fault.ErrBadRequest) || fault.KindOf(err) != fault.BadRequest {
		t.Fatal("SafetyError is not ErrUnsafe / BadRequest")
	}
	if !strings.Contains(fault.Message(err), "backing file") {
		t.Fatalf("client message %q hides the reason", fault.Message(err))
	}
}

func TestZeroInspector(t *testing.T) {
	var in Inspector
	if _, err := in.Write(gptImage(4096)); err != nil {
		t.Fatal(err)
	}
	r, err := in.Result()
	if err != nil || r.Format != GPT || r.Size != 4096 || r.VirtualSize != 4096 {
		t.Fatalf("Result = %+v, %v", r, err)
	}
	if _, err := in.Write([]byte{0}); err == nil {
		t.Fatal("Write after Result succeeded")
	}
	if r2, err := in.Result(); r2 != r || err != nil {
		t.Fatalf("second Result = %+v, %v", r2, err)
	}
}

func TestErrSticks(t *testing.T) {
	in := NewInspector()
	if _, err := in.Write([]byte("QED")); err != nil {
		t.Fatalf("refused on 3 bytes: %v", err)
	}
	// The fourth byte completes the magic: refused there and then.
	if _, err := in.Write([]byte{0, 1, 2}); err == nil || in.Err() != err {
		t.Fatalf("qed: Write = %v, Err = %v", err, in.Err())
	}
	if _, err := in.Write([]byte{1}); err != in.Err() {
		t.Fatalf("later Write: %v, want %v", err, in.Err())
	}
	if _, err := in.Result(); err != in.Err() {
		t.Fatalf("Result: %v, want %v", err, in.Err())
	}
}

func TestTail(t *testing.T) {
	data := make([]byte, 5000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, n := range []int{1, 3, 511, 1536, 1537, 4096} {
		in := NewInspector()
		for i := 0; i < len(data); i += n {
			in.keepTail(data[i:min(len(data), i+n)])
		}
		if got := in.tail[:in.tailLen]; !bytes.Equal(got, data[len(data)-tailSize:]) {
			t.Fatalf("chunks of %d: tail differs", n)
		}
	}
}

// TestBounded streams a vmdk whose header claims the largest descriptor,
// and a vhdx, and checks the buffers never pass MaxBuffered.
func TestBounded(t *testing.T) {
	vmdk := sparseVMDK("", 1, 0, 3<<20)
	le.PutUint64(vmdk[vmdkOffDescSize:], 1<<40)
	text := bytes.Repeat([]byte("createType=\"x\"\n"), 200000)
	for name, img := range map[string][]byte{"vmdk": vmdk, "text": text} {
		in := NewInspector()
		peak := 0
		for i := 0; i < len(img); i += 1000 {
			in.Write(img[i:min(len(img), i+1000)])
			peak = max(peak, in.buffered())
		}
		in.Result()
		t.Logf("%s: peak %d bytes buffered", name, peak)
		if peak > MaxBuffered || peak < vmdkDescMax {
			t.Fatalf("%s: peak %d, bound %d", name, peak, MaxBuffered)
		}
	}
}

// TestShortInputs feeds every prefix length of a few headers: no panic,
// and stream and file agree.
func TestShortInputs(t *testing.T) {
	for _, seed := range seeds() {
		for n := 0; n <= len(seed) && n <= 2048; n++ {
			checkAgree(t, seed[:n], 7)
		}
	}
}

// checkAgree inspects data as a stream in chunks of n and through
// InspectAt and fails if they disagree or the buffers pass the bound.
func checkAgree(t *testing.T, data []byte, n int) {
	t.Helper()
	in := NewInspector()
	var serr error
	for i := 0; i < len(data) && serr == nil; i += n {
		_, serr = in.Write(data[i:min(len(data), i+n)])
		if b := in.buffered(); b > MaxBuffered {
			t.Fatalf("%d bytes buffered, bound %d", b, MaxBuffered)
		}
	}
	sr, serr := in.Result()
	fr, ferr := InspectAt(context.Background(), bytes.NewReader(data), int64(len(data)))
	if (serr == nil) != (ferr == nil) {
		t.Fatalf("stream error %v, file error %v (len %d)", serr, ferr, len(data))
	}
	if serr != nil {
		var se *SafetyError
		if !errors.As(serr, &se) || se.Check == "layout" {
			t.Fatalf("unexpected error %v", serr)
		}
		return
	}
	sr.BytesRead, sr.Examined = fr.BytesRead, fr.Examined
	if sr != fr {
		t.Fatalf("stream %+v, file %+v", sr, fr)
	}
}
