// Package format detects the disk format of an image and refuses unsafe
// ones, while the image streams in: the Go counterpart of oslo.utils'
// format inspector, which Glance runs on uploads.
//
// An Inspector is an io.Writer. Feed it the upload as it passes (through
// io.TeeReader or io.MultiWriter): it captures only the byte ranges each
// format needs, holds at most MaxBuffered bytes however large the image,
// and fails the Write that completes the evidence against an unsafe image,
// so the upload can stop there instead of after the last byte. Result,
// called once the stream has ended, names the format and its virtual size.
// InspectFile and InspectAt do the same by reading just those ranges of a
// file, a few KiB.
//
// Formats: raw (the fallback), qcow2, vmdk, vhd, vhdx, vdi, iso, gpt (an
// MBR or GPT partition table), luks and qed (recognised to be refused).
// The safety checks are oslo's, and a few stricter ones; SafetyError lists
// them. Content that matches two formats is refused, except a partition
// table inside an ISO (a hybrid ISO) or inside a fixed VHD. Matches applies
// Glance's rule for comparing the result with the declared disk_format.
//
// What it does not do: it does not convert images, does not validate the
// integrity of a whole image (tables, refcounts, checksums of data), and
// does not decrypt LUKS to inspect the format inside. A format it does not
// know (parallels, dmg, ...) is reported as raw, as oslo does; images are
// meant to be opened with an explicit format afterwards, never probed.
package format
