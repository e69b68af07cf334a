package podpath

import "strings"

// NormalizeUID turns a pod UID as it appears in a cgroup name into the form the
// API uses: the systemd driver writes the UUID with "_" for "-" (systemd treats
// "-" as the slice hierarchy separator), the cgroupfs driver keeps the dashes.
// Static and mirror pods carry a 32-hex UID without dashes (netdata/netdata#4868)
// which is returned as is. Hex digits are lowered. ok is false for anything else.
func NormalizeUID(s string) (uid string, ok bool) {
	switch len(s) {
	case 32:
		if !isHex(s) {
			return "", false
		}
		return strings.ToLower(s), true
	case 36:
		b := []byte(s)
		for i, c := range b {
			switch i {
			case 8, 13, 18, 23:
				if c != '-' && c != '_' {
					return "", false
				}
				b[i] = '-'
			default:
				if !isHexByte(c) {
					return "", false
				}
			}
		}
		return strings.ToLower(string(b)), true
	}
	return "", false
}

// SystemdUID is the inverse of NormalizeUID for the systemd driver: the UID as
// it appears inside a kubepods-…-pod<uid>.slice name.
func SystemdUID(uid string) string {
	return strings.ReplaceAll(uid, "-", "_")
}

// podComponent recognises a pod cgroup name of either driver: "pod<uid>"
// (cgroupfs) or "kubepods[-<qos>]-pod<uid_>.slice" (systemd). The QoS hint
// comes from the systemd name; a pod slice directly below kubepods.slice
// ("kubepods-pod…") is Guaranteed. An unknown QoS word gives no hint.
func podComponent(c string) (uid, qos string, ok bool) {
	for off := 0; off < len(c); {
		i := strings.Index(c[off:], "pod")
		if i < 0 {
			return "", "", false
		}
		i += off
		off = i + 3
		if i > 0 && c[i-1] != '-' {
			continue
		}
		cand := strings.TrimSuffix(c[i+3:], ".slice")
		uid, ok := NormalizeUID(cand)
		if !ok {
			continue
		}
		if i > 0 {
			switch c[:i-1] {
			case "kubepods":
				qos = QoSGuaranteed
			case "kubepods-burstable":
				qos = QoSBurstable
			case "kubepods-besteffort":
				qos = QoSBestEffort
			}
		}
		return uid, qos, true
	}
	return "", "", false
}

// containerComponent recognises a container leaf below a pod cgroup:
// cri-containerd-<id>.scope, crio-<id>.scope, docker-<id>.scope (systemd
// driver), a bare <id> (cgroupfs with containerd or docker) or crio-<id>
// (cgroupfs with CRI-O). CRI-O's crio-conmon-<id>.scope holds the container
// monitor, not the container, so it is reported apart (cAdvisor skips it too).
func containerComponent(c string) (id, runtime string, conmon bool) {
	c = strings.TrimSuffix(c, ".scope")
	if rest, ok := strings.CutPrefix(c, "crio-conmon-"); ok && isContainerID(rest) {
		return "", "", true
	}
	for _, p := range [...]struct{ prefix, runtime string }{
		{"cri-containerd-", RuntimeContainerd},
		{"crio-", RuntimeCRIO},
		{"docker-", RuntimeDocker},
		{"", ""},
	} {
		if rest, ok := strings.CutPrefix(c, p.prefix); ok && isContainerID(rest) {
			return rest, p.runtime, false
		}
	}
	return "", "", false
}

// runtimeName maps the middle field of the colon form
// (…pod<uid_>.slice:cri-containerd:<id>) to a runtime.
func runtimeName(s string) (string, bool) {
	switch s {
	case "cri-containerd", "containerd":
		return RuntimeContainerd, true
	case "crio", "cri-o":
		return RuntimeCRIO, true
	case "docker":
		return RuntimeDocker, true
	}
	return "", false
}

// isContainerID matches cAdvisor's ([a-z0-9]{64}) narrowed to hex, which is
// what containerd, CRI-O and docker all generate.
func isContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexByte(s[i]) {
			return false
		}
	}
	return true
}

func isHexByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
