package api_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/image"
)

// dataState is what a failed write must leave as it was: the status and
// everything the data sets.
func dataState(img map[string]any) string {
	return fmt.Sprintf("status=%v size=%v virtual_size=%v checksum=%v os_hash_value=%v",
		img["status"], img["size"], img["virtual_size"], img["checksum"], img["os_hash_value"])
}

// Refused uploads and stages: Glance's status, the image queued again
// with no size or hashes, and no byte left in any store (finished object
// or temporary file).
func TestUploadBadInput(t *testing.T) {
	c := newCloud(t)
	q := newQemu(t)
	good := q.create("qcow2", "base.qcow2", "64M")
	hostile := q.create("qcow2", "over.qcow2", "64M", "-b", "base.qcow2", "-F", "qcow2")
	raw := rawData(4096)
	tests := []struct {
		name        string
		disk        string // the image's disk_format ("" none)
		path        string // "file" or "stage"
		typ         string
		size        string // x-openstack-image-size
		data        []byte
		code        int
		msg         string
		neverLoaded bool // refused before the image is touched
	}{
		{"JSON content type", "raw", "file", "application/json", "", raw, 415, "application/octet-stream", true},
		{"no content type", "raw", "file", "-", "", raw, 415, "application/octet-stream", true},
		{"stage JSON content type", "raw", "stage", "application/json", "", raw, 415, "", true},
		{"size not a number", "raw", "file", "", "lots", raw, 400, "x-openstack-image-size", true},
		{"size negative", "raw", "file", "", "-1", raw, 400, "x-openstack-image-size", true},
		{"more data than announced", "raw", "file", "", strconv.Itoa(len(raw) - 1), raw, 400, "size differs from the announced size", false},
		{"less data than announced", "raw", "file", "", strconv.Itoa(len(raw) + 1), raw, 400, "size differs from the announced size", false},
		{"raw data declared qcow2", "qcow2", "file", "", "", raw, 400, "does not match disk_format qcow2", false},
		{"qcow2 declared vmdk", "vmdk", "file", "", "", good, 400, "does not match disk_format vmdk", false},
		{"qcow2 with a backing file", "qcow2", "file", "", "", hostile, 400, "backing file", false},
		{"qcow2 with a backing file declared raw", "raw", "file", "", "", hostile, 400, "backing file", false},
		{"stage a qcow2 with a backing file", "qcow2", "stage", "", "", hostile, 400, "backing file", false},
		{"stage raw data declared qcow2", "qcow2", "stage", "", "", raw, 400, "does not match", false},
		{"stage more data than announced", "raw", "stage", "", "10", raw, 400, "size differs", false},
		{"no disk_format", "", "file", "", "", raw, 400, "disk_format, container_format must be set prior to saving data", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{"name": tt.name, "container_format": "bare"}
			if tt.disk != "" {
				body["disk_format"] = tt.disk
			}
			id := c.mkImage(t, memberA, body)
			before := c.show(t, id)
			x := call{Method: "PUT", Path: "/v2/images/" + id + "/" + tt.path, Token: memberA, Body: tt.data,
				Type: "application/octet-stream", Header: map[string]string{}}
			if tt.typ != "" {
				x.Type = tt.typ
			}
			if tt.size != "" {
				x.Header["x-openstack-image-size"] = tt.size
			}
			wantError(t, c.Call(t, x), tt.code, tt.msg)
			after := c.show(t, id)
			if dataState(after) != dataState(before) {
				t.Errorf("after a refused write: %s, before: %s", dataState(after), dataState(before))
			}
			if tt.neverLoaded && after["updated_at"] != before["updated_at"] {
				t.Errorf("image touched: updated_at %v -> %v", before["updated_at"], after["updated_at"])
			}
			c.noData(t)
		})
	}

	t.Run("upload to an active image", func(t *testing.T) {
		id := c.mkImage(t, memberA, map[string]any{"name": "active", "disk_format": "qcow2", "container_format": "bare"})
		if r := c.upload(t, memberA, id, good); r.Code != http.StatusNoContent {
			t.Fatalf("first upload: %s", r)
		}
		before := c.snapshot(t)
		wantError(t, c.upload(t, memberA, id, raw), http.StatusConflict, "")
		wantError(t, c.Call(t, call{Method: "PUT", Path: "/v2/images/" + id + "/stage", Token: memberA, Body: raw,
			Type: "application/octet-stream"}), http.StatusConflict, "")
		c.unchanged(t, before)
		if r := c.Do(t, "GET", "/v2/images/"+id+"/file", memberA, nil); !bytes.Equal(r.Body, good) {
			t.Fatalf("data changed: %d bytes", len(r.Body))
		}
	})
}

// A client that sends half its body and hangs up leaves the image queued
// (Glance's saving → queued, so the upload can be retried) and no file.
func TestInterruptedUpload(t *testing.T) {
	c := newCloud(t)
	id := c.mkImage(t, memberA, map[string]any{"name": "big", "disk_format": "raw", "container_format": "bare"})
	data := rawData(4 << 20)
	half := data[:len(data)/2]

	conn, err := net.Dial("tcp", strings.TrimPrefix(c.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /v2/images/%s/file HTTP/1.1\r\nHost: image\r\nX-Auth-Token: %s\r\n"+
		"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", id, memberA, len(data))
	if _, err := conn.Write(half); err != nil {
		t.Fatal(err)
	}
	c.waitStatus(t, id, "saving")
	// The half that was sent is on its way to disk: a temporary file.
	for deadline := time.Now().Add(20 * time.Second); len(files(t, c.DataDir)) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no temporary file while the upload runs")
		}
	}
	if f := files(t, c.DataDir); !strings.HasPrefix(f[0], "tmp/"+id) {
		t.Fatalf("while uploading: %v", f)
	}
	conn.Close()

	img := c.waitStatus(t, id, "queued")
	if img["size"] != nil || img["checksum"] != nil || img["virtual_size"] != nil {
		t.Errorf("after the hang-up: %s", dataState(img))
	}
	c.noData(t)

	if r := c.upload(t, memberA, id, data); r.Code != http.StatusNoContent {
		t.Fatalf("retry: %s", r)
	}
	if img := c.show(t, id); img["status"] != "active" || img["size"] != float64(len(data)) {
		t.Fatalf("after the retry: %s", dataState(img))
	}
}

// Image count and bytes quotas: 413 and nothing made or stored.
func TestQuota(t *testing.T) {
	const maxBytes = 1000
	c := newCloud(t, func(s *image.Service) {
		s.Quota = func(project string) image.Limits {
			if project == projectA {
				return image.Limits{Count: 2, Bytes: maxBytes}
			}
			return image.Unlimited
		}
	})
	raw := map[string]any{"disk_format": "raw", "container_format": "bare"}
	first, second := c.mkImage(t, memberA, raw), c.mkImage(t, memberA, raw)

	t.Run("count", func(t *testing.T) {
		before := c.snapshot(t)
		wantError(t, c.Do(t, "POST", "/v2/images", memberA, raw), http.StatusRequestEntityTooLarge, "image_count_total")
		c.unchanged(t, before)
		c.mkImage(t, memberB, raw) // B's quota is its own
	})

	t.Run("bytes", func(t *testing.T) {
		if r := c.upload(t, memberA, first, rawData(600)); r.Code != http.StatusNoContent {
			t.Fatalf("upload within the quota: %s", r)
		}
		for _, announce := range []bool{false, true} {
			x := call{Method: "PUT", Path: "/v2/images/" + second + "/file", Token: memberA, Body: rawData(600), Type: "application/octet-stream"}
			if announce {
				x.Header = map[string]string{"x-openstack-image-size": "600"}
			}
			wantError(t, c.Call(t, x), http.StatusRequestEntityTooLarge, "image_size_total")
			if img := c.show(t, second); img["status"] != "queued" || img["size"] != nil {
				t.Fatalf("after the refused upload: %s", dataState(img))
			}
		}
		if f := files(t, c.DataDir); len(f) != 1 || f[0] != "objects/"+first+" 600" {
			t.Errorf("stored: %v", f)
		}
		if r := c.upload(t, memberA, second, rawData(maxBytes-600)); r.Code != http.StatusNoContent {
			t.Fatalf("upload of what is left: %s", r)
		}
	})

	t.Run("delete frees the count", func(t *testing.T) {
		c.Must(t, http.StatusNoContent, "DELETE", "/v2/images/"+first, memberA, nil)
		c.mkImage(t, memberA, raw)
	})
}

// Downloads: whole with Content-MD5, single ranges, refused ranges,
// images without data, deactivated images.
func TestDownload(t *testing.T) {
	c := newCloud(t)
	var b strings.Builder
	for i := 0; b.Len() < 1000; i++ {
		fmt.Fprintf(&b, "%05d,", i) // every offset holds different bytes
	}
	data := []byte(b.String())
	n := len(data)
	id := c.mkImage(t, memberA, map[string]any{"name": "d", "disk_format": "raw", "container_format": "bare", "visibility": "shared"})
	if r := c.upload(t, memberA, id, data); r.Code != http.StatusNoContent {
		t.Fatal(r)
	}
	sum := md5.Sum(data)
	checksum := hex.EncodeToString(sum[:])
	if img := c.show(t, id); img["checksum"] != checksum {
		t.Fatalf("checksum %v, want %s", img["checksum"], checksum)
	}
	get := func(token, rng string) reply {
		x := call{Method: "GET", Path: "/v2/images/" + id + "/file", Token: token}
		if rng != "" {
			x.Header = map[string]string{"Range": rng}
		}
		return c.Call(t, x)
	}

	t.Run("whole", func(t *testing.T) {
		r := get(memberA, "")
		if r.Code != 200 || !bytes.Equal(r.Body, data) {
			t.Fatalf("%d, %d bytes", r.Code, len(r.Body))
		}
		h := r.Header
		if h.Get("Content-MD5") != checksum || h.Get("Content-Length") != strconv.Itoa(n) || h.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("headers %v", h)
		}
	})

	t.Run("ranges", func(t *testing.T) {
		tests := []struct {
			rng        string
			start, end int // inclusive
		}{
			{"bytes=0-9", 0, 9},
			{"bytes=10-", 10, n - 1},
			{"bytes=-5", n - 5, n - 1},
			{"bytes=7-7", 7, 7},
			{"bytes=900-99999", 900, n - 1},
			{"bytes=-99999", 0, n - 1},
		}
		for _, tt := range tests {
			t.Run(tt.rng, func(t *testing.T) {
				r := get(memberA, tt.rng)
				if r.Code != http.StatusPartialContent {
					t.Fatalf("%s", r)
				}
				if want := fmt.Sprintf("bytes %d-%d/%d", tt.start, tt.end, n); r.Header.Get("Content-Range") != want {
					t.Errorf("Content-Range = %q, want %q", r.Header.Get("Content-Range"), want)
				}
				if !bytes.Equal(r.Body, data[tt.start:tt.end+1]) {
					t.Errorf("body %q, want %q", r.Body, data[tt.start:tt.end+1])
				}
				if r.Header.Get("Content-Length") != strconv.Itoa(tt.end-tt.start+1) {
					t.Errorf("Content-Length = %q", r.Header.Get("Content-Length"))
				}
			})
		}
		for _, rng := range []string{fmt.Sprintf("bytes=%d-", n), "bytes=5-2", "bytes=0-1,4-5", "items=0-1", "bytes=-0", "bytes=a-b", "bytes=-"} {
			t.Run(rng, func(t *testing.T) {
				r := get(memberA, rng)
				wantError(t, r, http.StatusRequestedRangeNotSatisfiable, "")
				if got, want := r.Header.Get("Content-Range"), fmt.Sprintf("bytes */%d", n); got != want {
					t.Errorf("Content-Range = %q, want %q", got, want)
				}
			})
		}
	})

	t.Run("no data", func(t *testing.T) {
		queued := c.mkImage(t, memberA, map[string]any{"name": "empty"})
		r := c.Do(t, "GET", "/v2/images/"+queued+"/file", memberA, nil)
		if r.Code != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("%s", r)
		}
	})

	t.Run("deactivated", func(t *testing.T) {
		c.Must(t, http.StatusOK, "POST", "/v2/images/"+id+"/members", memberA, map[string]any{"member": projectB})
		c.Must(t, http.StatusNoContent, "POST", "/v2/images/"+id+"/actions/deactivate", memberA, nil)
		c.Must(t, http.StatusNoContent, "POST", "/v2/images/"+id+"/actions/deactivate", memberA, nil) // idempotent
		if img := c.show(t, id); img["status"] != "deactivated" {
			t.Fatalf("status %v", img["status"])
		}
		for _, tok := range []string{memberA, memberB} {
			wantError(t, get(tok, ""), http.StatusForbidden, "deactivated")
			wantError(t, get(tok, "bytes=0-9"), http.StatusForbidden, "deactivated")
		}
		if r := get(adminA, ""); r.Code != http.StatusOK || !bytes.Equal(r.Body, data) {
			t.Fatalf("admin: %d, %d bytes", r.Code, len(r.Body))
		}
		c.Must(t, http.StatusNoContent, "POST", "/v2/images/"+id+"/actions/reactivate", memberA, nil)
		if r := get(memberB, ""); r.Code != http.StatusOK || !bytes.Equal(r.Body, data) {
			t.Fatalf("after reactivation: %d, %d bytes", r.Code, len(r.Body))
		}
	})
}
