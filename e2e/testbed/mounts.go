package testbed

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// Every mount a bed makes is in the test's private mount namespace
// (testbed.Main made / recursively private first), so none is ever seen by
// the host; they are still unmounted at Close, newest first, so that a run
// can check it left none, and so two beds in one run start clean.
var (
	mountMu sync.Mutex
	made    []string
)

// mount mounts and records the target for bedMounts; the bed registers the
// unmount as a cleanup.
func (b *Bed) mount(source, target, fstype string, flags uintptr, data string) error {
	if err := syscall.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s (%s, %s): %w", source, target, fstype, data, err)
	}
	mountMu.Lock()
	made = append(made, target)
	mountMu.Unlock()
	b.cleanup(func() error { return unmount(target) })
	return nil
}

// unmount detaches target and everything mounted below it (the kubelet's
// and containerd's own mounts: pod volumes, sandboxes' /dev/shm, rootfs).
func unmount(target string) error {
	for _, m := range slices.Backward(mountPoints()) {
		if strings.HasPrefix(m, target+"/") {
			syscall.Unmount(m, syscall.MNT_DETACH)
		}
	}
	if err := syscall.Unmount(target, syscall.MNT_DETACH); err != nil && err != syscall.EINVAL {
		return fmt.Errorf("unmount %s: %w", target, err)
	}
	return nil
}

// mountPoints lists this namespace's mount points in mount order.
func mountPoints() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			out = append(out, unescapeMount(f[4]))
		}
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// bedMounts lists recorded mount targets still mounted.
func bedMounts() []string {
	mountMu.Lock()
	defer mountMu.Unlock()
	cur := mountPoints()
	var out []string
	for _, m := range made {
		if slices.Contains(cur, m) {
			out = append(out, m)
		}
	}
	return out
}
