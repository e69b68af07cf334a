// Package testbed runs a real Kubernetes control plane — and, on request, a
// real kubelet with containerd — for memsnap's end-to-end tests, inside
// namespaces the test creates, and removes every trace of it afterwards.
//
// A test package hands its TestMain to Main. The test binary then runs in
// three stages (docs/e2e.md):
//
//  1. outer, in the host's namespaces: checks root, builds or finds the
//     binaries, and re-executes itself with new network, mount and PID
//     namespaces. It forwards SIGINT/SIGTERM, and when the namespaces are
//     gone it removes the run's cgroups and directory and fails the run if
//     anything of it is left (processes, namespace, cgroups, mounts).
//  2. init, PID 1 of the new PID namespace: makes every mount private,
//     mounts a /proc of its own, starts stage 3 and reaps every orphan
//     (containerd's shims re-parent to it). When stage 3 ends it exits, and
//     the kernel kills whatever is still in the namespace — so even a
//     crashed or killed test leaves no process behind.
//  3. test: brings lo up with 192.0.2.1 and runs the tests, which start
//     the API server, stand-ins and kubelets with Start.
package testbed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Environment variables between the stages; MEMSNAP_E2E_BIN and
// MEMSNAP_E2E_DIR may also be set by the caller (make e2e).
const (
	envStage = "MEMSNAP_E2E_STAGE" // "", "init", "test"
	envRun   = "MEMSNAP_E2E_RUN"   // memsnap-e2e-<outer pid>
	envWork  = "MEMSNAP_E2E_WORK"  // the run's directory
	envBin   = "MEMSNAP_E2E_BIN"   // directory with kube-e2e, memsnap, memsnap-collect, memsnap-gen, ...
	envDir   = "MEMSNAP_E2E_DIR"   // parent of run directories (default $TMPDIR)
	envSkip  = "MEMSNAP_E2E"       // "skip" skips the whole package, explicitly
	envKeep  = "MEMSNAP_E2E_HOLD"  // a duration: hold the bed this long before teardown, to look at it
)

// RunPrefix names everything a run creates: cgroups, directories.
const RunPrefix = "memsnap-e2e-"

// Main is a test package's TestMain: go test runs it once per package.
func Main(m *testing.M) {
	switch os.Getenv(envStage) {
	case "":
		os.Exit(outer())
	case "init":
		os.Exit(nsInit())
	case "test":
		os.Exit(inner(m))
	default:
		fmt.Fprintf(os.Stderr, "testbed: unknown %s=%q\n", envStage, os.Getenv(envStage))
		os.Exit(2)
	}
}

// outer runs in the host's namespaces.
func outer() int {
	if os.Getenv(envSkip) == "skip" {
		fmt.Println("testbed: MEMSNAP_E2E=skip: e2e tests skipped")
		return 0
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "testbed: FAIL: the e2e test bed needs root (network, mount and PID namespaces, cgroups); set MEMSNAP_E2E=skip to skip it explicitly")
		return 1
	}
	runID := RunPrefix + strconv.Itoa(os.Getpid())
	parent := os.Getenv(envDir)
	if parent == "" {
		parent = os.TempDir()
	}
	work := filepath.Join(parent, runID)
	if err := os.MkdirAll(work, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "testbed: FAIL:", err)
		return 1
	}
	bin, err := ensureBinaries()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed: FAIL:", err)
		os.RemoveAll(work)
		return 1
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed: FAIL:", err)
		return 1
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	cmd.Env = withEnv(os.Environ(), envStage+"=init", envRun+"="+runID, envWork+"="+work, envBin+"="+bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
		// If this process dies (even by SIGKILL) the namespace's init is
		// killed, and with it everything in the PID namespace.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testbed: FAIL: new namespaces:", err)
		os.RemoveAll(work)
		return 1
	}
	netns, _ := nsInode(cmd.Process.Pid, "net")
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	for waiting := true; waiting; {
		select {
		case s := <-sig:
			// The test stage tears down on SIGTERM; init passes it on.
			fmt.Fprintf(os.Stderr, "testbed: %v: tearing down\n", s)
			cmd.Process.Signal(syscall.SIGTERM)
			go func() {
				time.Sleep(teardownGrace)
				cmd.Process.Kill()
			}()
		case werr = <-done:
			waiting = false
		}
	}
	signal.Stop(sig)
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(werr, &ee):
		code = ee.ExitCode()
		if code < 0 {
			code = 1
		}
	case werr != nil:
		fmt.Fprintln(os.Stderr, "testbed:", werr)
		code = 1
	}
	// The namespaces are gone with their last process; what can outlive
	// them is on disk: cgroup directories and the run directory.
	if err := removeRun(runID, work); err != nil {
		fmt.Fprintln(os.Stderr, "testbed: cleanup:", err)
	}
	if left := Leftovers(runID, work, netns); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "testbed: FAIL: run %s left behind:\n  %s\n", runID, strings.Join(left, "\n  "))
		if code == 0 {
			code = 1
		}
	} else {
		fmt.Fprintf(os.Stderr, "testbed: run %s removed: no process, namespace, cgroup, mount or directory left\n", runID)
	}
	return code
}

// teardownGrace bounds the test stage's teardown after SIGTERM: stopping
// the kubelet, containerd and the API server takes a few seconds; after
// this the PID namespace is killed outright.
const teardownGrace = 60 * time.Second

// nsInit is PID 1 of the test's PID namespace.
func nsInit() int {
	if os.Getpid() != 1 {
		fmt.Fprintf(os.Stderr, "testbed: FAIL: the init stage runs as pid %d, not as PID 1 of a new PID namespace\n", os.Getpid())
		return 1
	}
	// Nothing mounted from here on may propagate back to the host.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		fmt.Fprintln(os.Stderr, "testbed: FAIL: make mounts private:", err)
		return 1
	}
	// A /proc of this PID namespace: the kubelet, cAdvisor and the
	// collector see only the bed's processes.
	if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		fmt.Fprintln(os.Stderr, "testbed: FAIL: mount /proc:", err)
		return 1
	}
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed: FAIL:", err)
		return 1
	}
	env := withEnv(os.Environ(), envStage+"=test")
	pid, err := syscall.ForkExec(self, os.Args, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: false},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed: FAIL: start test stage:", err)
		return 1
	}
	go func() {
		for s := range sig {
			syscall.Kill(pid, s.(syscall.Signal))
		}
	}()
	// Reap everything; the test stage's status is the run's.
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "testbed: wait:", err)
			return 1
		}
		if got != pid {
			continue
		}
		switch {
		case ws.Exited():
			return ws.ExitStatus()
		case ws.Signaled():
			fmt.Fprintf(os.Stderr, "testbed: test stage killed by %v\n", ws.Signal())
			return 1
		}
	}
}

// inner runs the tests inside the namespaces.
func inner(m *testing.M) int {
	if os.Getppid() != 1 {
		fmt.Fprintf(os.Stderr, "testbed: FAIL: the test stage's parent is pid %d, not the namespace's init\n", os.Getppid())
		return 1
	}
	if err := setupLoopback(); err != nil {
		fmt.Fprintln(os.Stderr, "testbed: FAIL:", err)
		return 1
	}
	interruptOnSignal()
	return m.Run()
}

// nsInode is the inode of /proc/PID/ns/KIND, which names a namespace.
func nsInode(pid int, kind string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, kind), &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// withEnv returns env with each KEY=VALUE of set replacing any earlier
// value of KEY. (Appending is not enough: with a duplicate, a Go program's
// Getenv sees the first — a stage would start itself again.)
func withEnv(env []string, set ...string) []string {
	out := make([]string, 0, len(env)+len(set))
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		replaced := false
		for _, s := range set {
			if sk, _, _ := strings.Cut(s, "="); sk == k {
				replaced = true
			}
		}
		if !replaced {
			out = append(out, e)
		}
	}
	return append(out, set...)
}
