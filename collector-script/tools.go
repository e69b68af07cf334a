package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"strings"
	"syscall"
	"time"
)

// tools runs host programs (systemctl, journalctl, kubelet --version) only
// where they act on the host being collected: directly when --host-root is
// "/", else chrooted into it. A tool whose manager is not running (no
// systemd as PID 1, no journald) is skipped, never run: systemctl in a
// container without systemd prints an error that must not pass for data.
type tools struct {
	host    Host
	timeout time.Duration
	dry     bool
}

var toolDirs = []string{"/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"}

// find returns the host path of an executable tool.
func (t *tools) find(name string) (string, bool) {
	for _, d := range toolDirs {
		p := path.Join(d, name)
		fi, err := os.Stat(t.host.Path(t.host.Resolve(p)))
		if err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// systemd reports whether systemd manages the host: PID 1 is systemd and
// /run/systemd/system exists (sd_booted(3) checks the latter).
func (t *tools) systemd() (bool, string) {
	comm, _ := t.host.ReadString("/proc/1/comm")
	if comm != "systemd" {
		return false, fmt.Sprintf("PID 1 on the host is %q, not systemd", comm)
	}
	if !t.host.IsDir("/run/systemd/system") {
		return false, "/run/systemd/system is missing (not booted with systemd)"
	}
	return true, ""
}

// journald reports whether the host's journal can be read with journalctl.
func (t *tools) journald() (bool, string) {
	if ok, why := t.systemd(); !ok {
		return false, why
	}
	fi, err := os.Stat(t.host.Path("/run/systemd/journal/socket"))
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return false, "journald is not running (/run/systemd/journal/socket missing)"
	}
	return true, ""
}

// command prepares a host tool, chrooted when the host is mounted elsewhere,
// in its own process group so a timeout kills its children too.
func (t *tools) command(ctx context.Context, tool string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, tool, args...)
	attr := &syscall.SysProcAttr{Setpgid: true}
	if r := t.host.Root; r != "" && r != "/" {
		attr.Chroot = r
	} else {
		cmd.Path = tool
	}
	cmd.SysProcAttr = attr
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL=C", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	return cmd
}

// run executes a host tool under --timeout and streams its stdout into the
// bundle as name. stderr (bounded) ends up in the error.
func (t *tools) run(ctx context.Context, s *sink, name string, limit int64, tool string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	cmd := t.command(ctx, tool, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{b: &stderr, n: 4096}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	copyErr := s.copy(name, stdout, text, limit)
	if copyErr != nil {
		io.Copy(io.Discard, stdout)
	}
	waitErr := cmd.Wait()
	switch {
	case waitErr != nil:
		return fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), waitErr, strings.TrimSpace(stderr.String()))
	case copyErr != nil:
		return copyErr
	}
	return nil
}

// limitedBuffer keeps the first n bytes written to it.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
