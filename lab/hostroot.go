package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// fixtureHeader marks every file the lab writes into its host root: these
// are stand-ins for node configuration, not kernel output.
const fixtureHeader = "# memsnap scenario lab FIXTURE: written by lab/, not by a kubelet or systemd.\n"

// buildHostRoot makes <Dir>/hostroot, the --host-root the collector gets:
// the real /sys (recursively, so /sys/fs/cgroup/memory is the kernel's),
// /proc and /dev/kmsg bound in, and fixture files beside them (DESIGN §8).
// files maps node paths to contents.
func (l *Lab) buildHostRoot(files map[string]string) error {
	l.HostRoot = filepath.Join(l.Dir, "hostroot")
	for _, d := range []string{"sys", "proc", "dev", "etc", "var/lib/kubelet/pods", "var/log/pods", "run/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(l.HostRoot, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(l.HostRoot, "dev/kmsg"), nil, 0o600); err != nil {
		return err
	}
	for _, b := range []struct{ src, dst string }{{"/sys", "sys"}, {"/proc", "proc"}, {"/dev/kmsg", "dev/kmsg"}} {
		if err := l.mount(b.src, filepath.Join(l.HostRoot, b.dst), "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return err
		}
	}
	for node, content := range files {
		p := filepath.Join(l.HostRoot, node)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return fmt.Errorf("fixture %s: %w", node, err)
		}
	}
	return nil
}

// podLogDir creates /var/log/pods/<ns>_<pod>_<uid>/<container>/ in the
// host root (kubernetes/kubernetes:pkg/kubelet/kuberuntime/helpers.go
// BuildContainerLogsDirectory) and returns the 0.log path in it.
func (l *Lab) podLogFile(p *Pod, c *Container) (string, error) {
	dir := filepath.Join(l.HostRoot, "var/log/pods", p.Namespace+"_"+p.Name+"_"+p.UID, c.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	f := filepath.Join(dir, fmt.Sprintf("%d.log", c.RestartCount))
	return f, os.WriteFile(f, nil, 0o644)
}
