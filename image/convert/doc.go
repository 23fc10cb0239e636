// Package convert converts disk images with qemu-img, safely: the source
// is inspected first (image/format's safety checks must pass and the
// content must be the declared format), qemu-img is told the source
// format (it never probes), and it runs under address-space and CPU-time
// limits, as OpenStack runs it since CVE-2024-32498. The result is
// inspected again before it is returned.
//
// What it does not do: decide when to convert. The image service converts
// on import when a store wants another format (RBD wants raw).
package convert
