package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/memsnap/memsnap/lab/internal/labfs"
)

// Lab is one scenario's world: a lab root cgroup below this process's
// cgroup holding a kubepods.slice tree, a private directory (host root,
// fixtures, workload files) and the processes and mounts the scenario
// started. Close undoes all of it; it runs from t.Cleanup and from the
// interrupt handler, whichever comes first.
type Lab struct {
	H        labfs.Hierarchy
	Bin      Binaries
	Name     string // memsnap-lab-<random>: the cgroup root's and the directory's name
	Root     string // lab root cgroup, relative to the hierarchy mount
	Dir      string // private directory (on a real disk, not tmpfs)
	HostRoot string // the --host-root given to the collector
	Started  time.Time

	mu     sync.Mutex
	mounts []string // in mount order
	procs  []*Proc
	closed bool
	logf   func(string, ...any)
}

// newLab creates the lab root cgroup and directory. dir is the parent of
// the lab directory; it must be on a disk (the page-cache scenario needs
// a real file system under its log file).
func newLab(h labfs.Hierarchy, bin Binaries, dir string, logf func(string, ...any)) (*Lab, error) {
	l := &Lab{H: h, Bin: bin, Name: labfs.Prefix + randomHex(6), Started: time.Now(), logf: logf}
	l.Dir = filepath.Join(dir, l.Name)
	if err := os.Mkdir(l.Dir, 0o700); err != nil {
		return nil, err
	}
	register(l)
	root, err := h.CreateRoot(l.Name)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("create lab cgroup below %s: %w", h.Base, err)
	}
	l.Root = root
	for _, cg := range []string{kubepodsCgroup(root), qosCgroup(root, "burstable"), qosCgroup(root, "besteffort")} {
		if err := h.Mkdir(cg); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// createPod makes the pod's cgroups and sets their limits.
func (l *Lab) createPod(p *Pod) error {
	if err := l.H.Mkdir(p.Cgroup); err != nil {
		return err
	}
	if err := l.H.SetLimit(p.Cgroup, p.LimitBytes); err != nil {
		return err
	}
	for _, c := range p.Containers {
		if err := l.createContainer(c); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lab) createContainer(c *Container) error {
	if err := l.H.Mkdir(c.Cgroup); err != nil {
		return err
	}
	return l.H.SetLimit(c.Cgroup, c.LimitBytes)
}

// restart removes a container's cgroup (its processes must be gone) and
// creates the next one, as the runtime does on a restart.
func (l *Lab) restart(p *Pod, c *Container) error {
	if err := l.H.RemoveTree(c.Cgroup); err != nil {
		return err
	}
	c.newID(p)
	c.RestartCount++
	return l.createContainer(c)
}

// Proc is a workload process the lab started.
type Proc struct {
	Cmd   *exec.Cmd
	PID   int
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
	state *os.ProcessState
	err   error
	mu    sync.Mutex
	out   []string
}

// start runs a program inside a container cgroup: the workload binary
// joins the cgroup itself before doing anything that should be charged
// there ("workload -join"), then runs args. It returns once the process
// printed "ready" or exited.
func (l *Lab) start(c *Container, args ...string) (*Proc, error) {
	return l.startLogged(c, &lineLog{logf: l.logf, prefix: c.Name + ": "}, args...)
}

// startLogged is start with the process's stderr going to w (a pod log
// file, as the runtime writes it).
func (l *Lab) startLogged(c *Container, w io.Writer, args ...string) (*Proc, error) {
	argv := append([]string{"-join", filepath.Join(l.H.Dir(c.Cgroup), "cgroup.procs")}, args...)
	cmd := exec.Command(l.Bin.Workload, argv...)
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	cmd.Stderr = w
	// Dies with the test process even when no cleanup can run (SIGKILL).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Cmd: cmd, PID: cmd.Process.Pid, stdin: stdin, lines: make(chan string, 1024), done: make(chan struct{})}
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out = append(p.out, sc.Text())
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		p.err = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.lines)
		close(p.done)
	}()
	if len(args) > 0 && args[0] == "exec" {
		return p, nil // another program: the caller knows how it signals readiness
	}
	return p, p.waitReady(90 * time.Second)
}

// waitReady waits for the "ready" line; an exit first is not an error
// here (the OOM scenarios expect it), a timeout is.
func (p *Proc) waitReady(timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case line, ok := <-p.lines:
			if !ok || line == "ready" {
				return nil
			}
		case <-t.C:
			return fmt.Errorf("pid %d: not ready after %v", p.PID, timeout)
		}
	}
}

// wait waits for the process to exit.
func (p *Proc) wait(timeout time.Duration) (*os.ProcessState, error) {
	select {
	case <-p.done:
		return p.state, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("pid %d still running after %v", p.PID, timeout)
	}
}

// exited reports whether the process has exited.
func (p *Proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// lastLine is the last stdout line (the allocation reached).
func (p *Proc) lastLine() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.out) == 0 {
		return ""
	}
	return p.out[len(p.out)-1]
}

// stop closes stdin (the workload exits on EOF), then kills it if needed.
func (p *Proc) stop() {
	_ = p.stdin.Close()
	if _, err := p.wait(5 * time.Second); err != nil {
		_ = p.Cmd.Process.Kill()
		_, _ = p.wait(10 * time.Second)
	}
}

// oomKilled reports a SIGKILL death (what the OOM killer sends).
func oomKilled(st *os.ProcessState) bool {
	ws, ok := st.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// mount records a mount the lab made, for Close.
func (l *Lab) mount(source, target, fstype string, flags uintptr, data string) error {
	if !labfs.InLabDir(target) {
		return fmt.Errorf("lab refuses to mount on %s: not in a %s* directory", target, labfs.Prefix)
	}
	if err := syscall.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", source, target, err)
	}
	l.mu.Lock()
	l.mounts = append(l.mounts, target)
	l.mu.Unlock()
	// Private: nothing the lab mounts or unmounts below here may
	// propagate back to the host's mounts (mount_namespaces(7)); on a
	// systemd host "/" is shared.
	if err := syscall.Mount("", target, "", syscall.MS_PRIVATE|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("make %s private: %w", target, err)
	}
	return nil
}

// mountTmpfs mounts a pod's memory-medium emptyDir where the kubelet
// would, with the kubelet's sizing (DOMAIN §7: the pod limit when set).
func (l *Lab) mountTmpfs(p *Pod, name string, size int64) (*Volume, error) {
	host, node := hostRootVolume(l.HostRoot, p.UID, name)
	if err := os.MkdirAll(host, 0o755); err != nil {
		return nil, err
	}
	if err := l.mount("tmpfs", host, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, fmt.Sprintf("size=%d", size)); err != nil {
		return nil, err
	}
	v := &Volume{Name: name, HostPath: host, NodePath: node, SizeBytes: size}
	p.Volumes = append(p.Volumes, v)
	return v, nil
}

// Close stops every process, unmounts, removes the cgroups and the
// directory, and reports what it could not undo. Safe to call twice.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	procs, mounts := l.procs, l.mounts
	l.mu.Unlock()
	defer unregister(l)
	var errs []error
	for _, p := range procs {
		p.stop()
	}
	// Unmount deepest first, everything in the lab dir (an rbind of /sys
	// brings its submounts along).
	if all, err := labfs.Mounts(); err == nil {
		for _, m := range labfs.LabMounts(all) {
			if strings.HasPrefix(m, l.Dir+"/") {
				if err := labfs.Unmount(m); err != nil {
					errs = append(errs, err)
				}
			}
		}
	} else {
		for i := len(mounts) - 1; i >= 0; i-- {
			if err := labfs.Unmount(mounts[i]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if l.Root != "" {
		if err := l.H.RemoveTree(l.Root); err != nil {
			errs = append(errs, err)
		}
	}
	if err := labfs.RemoveDir(l.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// lineLog forwards a child's stderr to the test log line by line.
type lineLog struct {
	logf   func(string, ...any)
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (w *lineLog) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		if w.logf != nil {
			w.logf("%s%s", w.prefix, w.buf[:i])
		}
		w.buf = w.buf[i+1:]
	}
	return len(b), nil
}

// run executes a lab binary with a deadline and returns its stdout.
func run(ctx context.Context, logf func(string, ...any), name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &lineLog{logf: logf, prefix: path.Base(name) + ": "}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out, nil
}
