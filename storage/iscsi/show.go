package iscsi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Target is one target as tgtd reports it (tgtadm --mode target --op
// show).
type Target struct {
	TID      int    // tgtd's target id: tgtd's own, changed by a restart
	IQN      string // the target name
	Driver   string // "iscsi"
	State    string // "ready", "offline"
	Nexuses  []Nexus
	LUNs     []LUN    // LUN 0 is tgt's controller
	Accounts []string // incoming CHAP users bound to the target
	// Outgoing is the outgoing (mutual CHAP) user, if one is bound.
	Outgoing string
	// ACL is what may log in: "ALL", addresses and prefixes
	// ("192.0.2.7", "10.0.0.0/8") and initiator names, in tgtd's order.
	// An initiator matching any entry may; with none, no one may.
	ACL []string
}

// Nexus is one initiator logged in to a target (an I_T nexus).
type Nexus struct {
	ID          uint64
	Initiator   string // its initiator name
	Alias       string // "none" when the initiator gave none
	Connections []NexusConnection
}

// NexusConnection is one TCP connection of a nexus.
type NexusConnection struct {
	ID      int
	Address string // the initiator's address
}

// LUN is one logical unit of a target.
type LUN struct {
	Number    int
	Type      string // "controller" (LUN 0), "disk"
	SizeMB    int64  // as tgtd prints it: about the size in units of 10^6 bytes
	BlockSize int
	Online    bool
	Readonly  bool
	// BackingType is the backing store type: "rdwr" for a file or block
	// device, "null" for the controller.
	BackingType  string
	BackingPath  string // "None" for the controller
	BackingFlags string // "direct", "sync", "" for none
}

// tgtdSizeMB is the size tgtd prints for a LUN of size bytes (tgt's
// print_disksize, usr/target.c): a MB figure rounded its own way.
func tgtdSizeMB(size int64) int64 {
	b := size / 512
	return (b - (b/625 - 974)) / 1950
}

// parseTargets reads the output of tgtadm --mode target --op show. Lines
// it does not know are skipped, so a newer tgt's extra fields do no harm;
// a target, nexus or LUN header it cannot read is an error.
func parseTargets(r io.Reader) ([]Target, error) {
	var p showParser
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		text := strings.TrimSpace(line)
		if text == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		if err := p.line(indent, text); err != nil {
			return nil, fmt.Errorf("iscsi: tgtadm show: line %d: %v: %q", n, err, text)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("iscsi: tgtadm show: %w", err)
	}
	return p.targets, nil
}

// showParser is parseTargets' state: the targets so far, and the
// section of the last one being read (tgtd indents by four spaces: a
// target at 0, its sections at 4, their entries at 8 and deeper).
type showParser struct {
	targets []Target
	section string
}

func (p *showParser) line(indent int, text string) error {
	if indent == 0 {
		rest, ok := strings.CutPrefix(text, "Target ")
		id, name, ok2 := strings.Cut(rest, ": ")
		tid, err := strconv.Atoi(id)
		if !ok || !ok2 || err != nil || tid <= 0 {
			return errors.New("not a target")
		}
		p.targets = append(p.targets, Target{TID: tid, IQN: name})
		p.section = ""
		return nil
	}
	if len(p.targets) == 0 {
		return errors.New("before the first target")
	}
	t := &p.targets[len(p.targets)-1]
	if indent <= 4 {
		p.section = strings.TrimSuffix(text, ":")
		return nil
	}
	key, value, _ := strings.Cut(text, ": ")
	switch p.section {
	case "System information":
		switch key {
		case "Driver":
			t.Driver = value
		case "State":
			t.State = value
		}
	case "I_T nexus information":
		return t.nexusLine(key, value)
	case "LUN information":
		if key == "LUN" {
			num, err := strconv.Atoi(value)
			if err != nil {
				return errors.New("not a LUN")
			}
			t.LUNs = append(t.LUNs, LUN{Number: num})
		} else if len(t.LUNs) > 0 {
			return t.LUNs[len(t.LUNs)-1].set(key, value, text)
		}
	case "Account information":
		if user, ok := strings.CutSuffix(text, " (outgoing)"); ok {
			t.Outgoing = user
		} else {
			t.Accounts = append(t.Accounts, text)
		}
	case "ACL information":
		t.ACL = append(t.ACL, text)
	}
	return nil
}

// nexusLine reads one line of a target's I_T nexus information.
func (t *Target) nexusLine(key, value string) error {
	if key == "I_T nexus" {
		id, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			return errors.New("not a nexus")
		}
		t.Nexuses = append(t.Nexuses, Nexus{ID: id})
		return nil
	}
	if len(t.Nexuses) == 0 {
		return nil
	}
	n := &t.Nexuses[len(t.Nexuses)-1]
	switch key {
	case "Initiator":
		n.Initiator, n.Alias, _ = strings.Cut(value, " alias: ")
	case "Connection":
		id, err := strconv.Atoi(value)
		if err != nil {
			return errors.New("not a connection")
		}
		n.Connections = append(n.Connections, NexusConnection{ID: id})
	case "IP Address":
		if len(n.Connections) > 0 {
			n.Connections[len(n.Connections)-1].Address = value
		}
	}
	return nil
}

// set fills one "Key: value" line of a LUN (text is the whole line: an
// empty value has no ": ").
func (l *LUN) set(key, value, text string) error {
	switch key {
	case "Type":
		l.Type = value
	case "Size":
		// "67 MB, Block size: 512"
		size, block, ok := strings.Cut(value, ", Block size: ")
		mb, err := strconv.ParseInt(strings.TrimSuffix(size, " MB"), 10, 64)
		if !ok || err != nil {
			return errors.New("not a size")
		}
		bs, err := strconv.Atoi(block)
		if err != nil {
			return errors.New("not a block size")
		}
		l.SizeMB, l.BlockSize = mb, bs
	case "Online":
		l.Online = value == "Yes"
	case "Readonly":
		l.Readonly = value == "Yes"
	case "Backing store type":
		l.BackingType = value
	case "Backing store path":
		l.BackingPath = value
	default:
		// "Backing store flags:" has nothing after the colon when there
		// are no flags, so it has no ": " to cut at.
		if k, v, _ := strings.Cut(text, ":"); k == "Backing store flags" {
			l.BackingFlags = strings.TrimSpace(v)
		}
	}
	return nil
}

// lun returns the target's LUN n.
func (t *Target) lun(n int) (LUN, bool) {
	for _, l := range t.LUNs {
		if l.Number == n {
			return l, true
		}
	}
	return LUN{}, false
}
