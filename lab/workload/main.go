// Command workload is the scenario lab's container process. It joins the
// cgroup it is given before it touches any memory it is meant to be
// charged for, does one thing the founding incidents did, prints "ready"
// and then holds its memory and files until its stdin closes (the lab
// ending, or dying) or it is killed.
//
//	workload -join CGROUP.PROCS pagecache -file F -size N -reads 2
//	workload -join CGROUP.PROCS alloc -step N -max N
//	workload -join CGROUP.PROCS fill -file F -size N
//	workload -join CGROUP.PROCS exec -- PROGRAM ARGS...
//	workload -join CGROUP.PROCS spread -dir D -n N -size S -file F   # dying-memcgs
//	workload -join CGROUP.PROCS thp -size N                          # thp-inflation
//	workload -join CGROUP.PROCS grow -step N -interval D          # a leak at a fixed rate
//	workload -join CGROUP.PROCS saw -step N -interval D -max N    # allocate, free, repeat
//	workload -join CGROUP.PROCS cachegrow -file F -step N -interval D  # a log file written and re-read
//	workload -hold alloc -step N -max N        # in a pod: hold until killed
//	workload alloc -delay 3s -step N           # in a pod: let the runtime watch for OOM first
//	workload refill -file F -size N -step N    # in a pod (e2e tmpfs restart)
//
// In a Kubernetes pod (the e2e test bed's real kubelet) stdin is
// /dev/null, so -hold keeps the state until the container is killed
// instead of until stdin closes, and the container runtime has already put
// the process in its cgroup (no -join). refill is the restart of seed 003
// in one container: its first run writes F (a file in a memory-backed
// emptyDir) and exits 1, so the kubelet restarts the container; the next
// run finds F still there and allocates anonymous memory in steps until
// the pod's limit kills it.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	join := flag.String("join", "", "cgroup.procs file to write our pid into first")
	flag.BoolVar(&holdForever, "hold", false, "once ready, hold until killed (ignore stdin)")
	flag.Parse()
	if *join != "" {
		if err := os.WriteFile(*join, []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			fail("join %s: %v", *join, err)
		}
	}
	args := flag.Args()
	if len(args) == 0 {
		fail("want a subcommand: pagecache, alloc, fill, refill, exec")
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet(sub, flag.ExitOnError)
	file := fs.String("file", "", "file to write")
	size := fs.Int64("size", 0, "bytes to write")
	reads := fs.Int("reads", 2, "times to read the file back")
	step := fs.Int64("step", 4<<20, "bytes per allocation step")
	maxBytes := fs.Int64("max", 0, "stop allocating at this many bytes (0 = until killed)")
	dir := fs.String("dir", "", "spread: parent cgroup directory holding c0 … c<n-1>")
	n := fs.Int("n", 0, "spread: how many child cgroups")
	interval := fs.Duration("interval", 0, "grow, saw, cachegrow: time between steps")
	// containerd 1.6's runc shim arms its cgroup v1 OOM eventfd only after
	// the task has started (runtime/v2/runc/v2/service.go, Start: s.ep.Add
	// after container.Start), so a container that reaches its limit in its
	// first milliseconds is killed by the kernel but reported as "Error",
	// exit 137, not "OOMKilled". The e2e anon-oom pod waits this long first.
	delay := fs.Duration("delay", 0, "alloc: wait this long before the first allocation")
	_ = fs.Parse(rest)
	switch sub {
	case "pagecache":
		f := writeFile(*file, *size)
		for range *reads {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				fail("%v", err)
			}
			if _, err := io.Copy(io.Discard, f); err != nil {
				fail("read %s: %v", *file, err)
			}
		}
		ready(f) // keep it open: the collector names it from fds.tsv
	case "alloc":
		time.Sleep(*delay)
		alloc(*step, *maxBytes)
	case "fill":
		f := writeFile(*file, *size)
		f.Close()
		fmt.Println("ready")
	case "refill":
		if st, err := os.Stat(*file); err == nil && st.Size() == *size {
			fmt.Printf("%s survived the restart (%d bytes): allocating\n", *file, st.Size())
			alloc(*step, 0)
			return
		}
		writeFile(*file, *size).Close()
		fmt.Printf("wrote %s (%d bytes): exiting for a restart\n", *file, *size)
		os.Exit(1)
	case "spread":
		spread(*join, *dir, *n, *size, *file)
	case "thp":
		thp(*size)
	case "grow", "saw", "cachegrow":
		if *interval <= 0 {
			fail("%s: want -interval", sub)
		}
		overTime(sub, *file, *step, *maxBytes, *interval)
	case "exec":
		if len(fs.Args()) == 0 {
			fail("exec: want a program")
		}
		prog, err := exec.LookPath(fs.Args()[0])
		if err != nil {
			fail("exec: %v", err)
		}
		// Same pid, already in the cgroup: the program's own memory is
		// charged there from its first page.
		fail("exec %s: %v", prog, syscall.Exec(prog, fs.Args(), os.Environ()))
	default:
		fail("unknown subcommand %q", sub)
	}
}

// writeFile writes size bytes of non-zero data in 1 MiB chunks.
func writeFile(name string, size int64) *os.File {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		fail("%v", err)
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i*7 + 1)
	}
	for left := size; left > 0; {
		n := min(left, int64(len(chunk)))
		if _, err := f.Write(chunk[:n]); err != nil {
			fail("write %s: %v", name, err)
		}
		left -= n
	}
	return f
}

// alloc maps anonymous memory in steps and touches every page, so each
// step is charged to the cgroup as anon (rss) right away; Go's heap would
// add collector slack the OOM report would then show.
func alloc(step, maxBytes int64) {
	var held [][]byte
	var total int64
	page := os.Getpagesize()
	for maxBytes == 0 || total < maxBytes {
		b, err := syscall.Mmap(-1, 0, int(step), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			fail("mmap: %v", err)
		}
		for i := 0; i < len(b); i += page {
			b[i] = 1
		}
		held = append(held, b)
		total += step
		fmt.Printf("allocated %d\n", total)
	}
	ready(held)
}

// overTime runs the watch scenarios (issue #15): it says "ready" after its
// first step, so the lab can start watching, and goes on until killed or
// until stdin closes. grow maps and touches step bytes of anon memory per
// interval; saw does the same up to max, then unmaps it all (a garbage
// collector's sawtooth); cachegrow appends step bytes to file and reads
// them back twice, so the new pages land on the active file list.
func overTime(mode, file string, step, maxBytes int64, interval time.Duration) {
	stop := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(stop) }()
	page := os.Getpagesize()
	var held [][]byte
	var held0 int64
	var f *os.File
	if mode == "cachegrow" {
		f = writeFile(file, 0)
	}
	chunk := make([]byte, step)
	for i := range chunk {
		chunk[i] = byte(i*13 + 1)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for n := 0; ; n++ {
		switch mode {
		case "grow", "saw":
			if mode == "saw" && maxBytes > 0 && held0+step > maxBytes {
				for _, b := range held {
					_ = syscall.Munmap(b)
				}
				held, held0 = nil, 0
			}
			b, err := syscall.Mmap(-1, 0, int(step), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
			if err != nil {
				fail("mmap: %v", err)
			}
			for i := 0; i < len(b); i += page {
				b[i] = 1
			}
			held = append(held, b)
			held0 += step
		case "cachegrow":
			off, err := f.Seek(0, io.SeekEnd)
			if err != nil {
				fail("%v", err)
			}
			if _, err := f.Write(chunk); err != nil {
				fail("write %s: %v", file, err)
			}
			for range 2 {
				if _, err := f.ReadAt(chunk, off); err != nil {
					fail("read %s: %v", file, err)
				}
			}
		}
		if n == 0 {
			fmt.Println("ready")
		}
		select {
		case <-stop:
			runtime.KeepAlive(held)
			runtime.KeepAlive(f)
			return
		case <-tick.C:
		}
	}
}

// holdForever is -hold.
var holdForever bool

// ready tells the lab the state is in place and holds it (v keeps the
// memory or file referenced) until stdin closes, or with -hold until the
// process is killed.
func ready(v any) {
	fmt.Println("ready")
	if holdForever {
		for {
			time.Sleep(time.Hour)
			runtime.KeepAlive(v) // an unreachable *os.File would be closed by its finalizer
		}
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(v)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "workload: "+format+"\n", args...)
	os.Exit(1)
}

// spread leaves page cache charged to each of n child cgroups: it joins
// <dir>/c<i>, writes size bytes to <file>.<i> (the pages are charged to the
// memcg of the task that first touches them — torvalds/linux:mm/filemap.c
// __filemap_add_folio → mem_cgroup_charge), and moves back to home. The lab
// then removes the empty child cgroups; their charges keep them alive as
// dying memcgs (v1 does not move charges with a task unless
// memory.move_charge_at_immigrate says so).
func spread(home, dir string, n int, size int64, file string) {
	if home == "" || dir == "" || n <= 0 || file == "" {
		fail("spread: want -join, -dir, -n and -file")
	}
	pid := []byte(strconv.Itoa(os.Getpid()))
	for i := range n {
		if err := os.WriteFile(fmt.Sprintf("%s/c%d/cgroup.procs", dir, i), pid, 0); err != nil {
			fail("spread: join c%d: %v", i, err)
		}
		writeFile(fmt.Sprintf("%s.%d", file, i), size).Close()
		if err := os.WriteFile(home, pid, 0); err != nil {
			fail("spread: back home: %v", err)
		}
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// thp maps size bytes of anonymous memory aligned to 2 MiB, asks for
// transparent huge pages on it (MADV_HUGEPAGE: honoured when
// /sys/kernel/mm/transparent_hugepage/enabled is always or madvise —
// torvalds/linux:Documentation/admin-guide/mm/transhuge.rst) and touches
// one byte per 2 MiB: each touch faults in a whole huge page, so the cgroup
// is charged size bytes for size/2MiB bytes used.
func thp(size int64) {
	const huge = 2 << 20
	b, err := syscall.Mmap(-1, 0, int(size+huge), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		fail("mmap: %v", err)
	}
	off := 0
	if a := int(uintptr(unsafe.Pointer(&b[0])) % huge); a != 0 {
		off = huge - a
	}
	region := b[off : off+int(size)]
	if err := syscall.Madvise(region, 14); err != nil { // MADV_HUGEPAGE (include/uapi/asm-generic/mman-common.h)
		fail("madvise MADV_HUGEPAGE: %v", err)
	}
	for i := 0; i < len(region); i += huge {
		region[i] = 1
	}
	ready(b)
}
