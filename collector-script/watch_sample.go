package main

import (
	"bytes"
	"context"
	byteorder "encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/memsnap/memsnap/bundle"
)

// The sampler copies numbers, it does not interpret them (STYLE: the
// collector stores raw bytes; only the analyzer parses): each column is a
// file, or a key of a keyed file, written exactly as the kernel printed it
// ("max" stays "max"). The columns are the ones that move; docs/series.md
// lists them. An empty cell means the file or key was absent.

// column is one TSV column: file, and key within it ("" = the whole file).
type column struct{ file, key string }

func (c column) name() string {
	if c.key == "" {
		return c.file
	}
	return c.file + ":" + c.key
}

func statCols(file string, keys ...string) []column {
	out := make([]column, len(keys))
	for i, k := range keys {
		out[i] = column{file, k}
	}
	return out
}

// v1 reports hierarchical totals under total_*; workingset_* exist from 5.9
// with _anon/_file, older kernels print workingset_refault/activate alone
// (torvalds/linux:mm/memcontrol-v1.c memcg1_stat_format).
var cgroupColumnsV1 = concatCols(
	[]column{{"memory.usage_in_bytes", ""}, {"memory.limit_in_bytes", ""}, {"memory.max_usage_in_bytes", ""},
		{"memory.failcnt", ""}, {"memory.kmem.usage_in_bytes", ""}},
	statCols("memory.stat", "total_rss", "total_cache", "total_shmem", "total_rss_huge", "total_mapped_file",
		"total_active_anon", "total_inactive_anon", "total_active_file", "total_inactive_file",
		"total_pgfault", "total_pgmajfault", "total_workingset_refault_anon", "total_workingset_refault_file",
		"total_workingset_activate_anon", "total_workingset_activate_file", "total_workingset_refault",
		"total_workingset_activate", "hierarchical_memory_limit"),
	statCols("memory.oom_control", "under_oom", "oom_kill"),
)

// v2 keys: torvalds/linux:Documentation/admin-guide/cgroup-v2.rst (memory.stat, memory.events, PSI).
var cgroupColumnsV2 = concatCols(
	[]column{{"memory.current", ""}, {"memory.max", ""}, {"memory.high", ""}, {"memory.peak", ""}, {"memory.swap.current", ""}},
	statCols("memory.stat", "anon", "file", "kernel", "kernel_stack", "pagetables", "sock", "shmem", "slab",
		"anon_thp", "file_mapped", "active_anon", "inactive_anon", "active_file", "inactive_file",
		"pgfault", "pgmajfault", "workingset_refault_anon", "workingset_refault_file",
		"workingset_activate_anon", "workingset_activate_file"),
	statCols("memory.events", "low", "high", "max", "oom", "oom_kill", "oom_group_kill"),
	statCols("memory.events.local", "high", "max", "oom", "oom_kill"),
	statCols("memory.pressure", "some.avg10", "some.total", "full.avg10", "full.total"),
)

var nodeColumns = concatCols(
	statCols("meminfo", "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached",
		"Active(anon)", "Inactive(anon)", "Active(file)", "Inactive(file)", "Unevictable", "Mlocked",
		"SwapTotal", "SwapFree", "Dirty", "Writeback", "AnonPages", "Mapped", "Shmem", "KReclaimable",
		"Slab", "SReclaimable", "SUnreclaim", "KernelStack", "PageTables", "AnonHugePages"),
	statCols("vmstat", "pgfault", "pgmajfault", "pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd",
		"pgsteal_direct", "workingset_refault", "workingset_refault_anon", "workingset_refault_file",
		"workingset_activate", "workingset_activate_anon", "workingset_activate_file",
		"allocstall_normal", "allocstall_movable", "oom_kill"),
	statCols("pressure", "some.avg10", "some.total", "full.avg10", "full.total"),
)

var nodeFilesOf = map[string]string{"meminfo": "/proc/meminfo", "vmstat": "/proc/vmstat", "pressure": "/proc/pressure/memory"}

func concatCols(parts ...[]column) []column {
	var out []column
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// fileGroup is one file to read per cgroup and the columns it fills.
type fileGroup struct {
	file string
	keys map[string]int // key -> column index ("" for a whole-file value)
	slow bool           // read every slowEvery-th sample only
}

// Files read every slowEvery-th sample only (docs/series.md: their cells
// are empty in the other rows). Limits change rarely (an in-place resize);
// memory.events.local only splits memory.events' counters; a high-water
// mark (memory.peak, max_usage_in_bytes) or a counter (failcnt) read later
// still shows every rise, only its time is coarser; swap is a gauge most
// nodes never use. Of 6–9 files per cgroup, 4 are read every sample: a
// 250-pod node's sample opens ~5,000 files, and each open, read and close
// is the sampler's CPU (BenchmarkWatchSample).
const slowEvery = 4

var slowFiles = map[string]bool{
	"memory.max": true, "memory.high": true, "memory.limit_in_bytes": true, "memory.events.local": true,
	"memory.peak": true, "memory.max_usage_in_bytes": true, "memory.failcnt": true, "memory.swap.current": true,
}

func groupColumns(cols []column) []fileGroup {
	var out []fileGroup
	idx := map[string]int{}
	for i, c := range cols {
		g, ok := idx[c.file]
		if !ok {
			g = len(out)
			idx[c.file] = g
			out = append(out, fileGroup{file: c.file, keys: map[string]int{}, slow: slowFiles[c.file]})
		}
		out[g].keys[c.key] = i
	}
	return out
}

// recorder takes the samples of one watch.
type recorder struct {
	host            Host
	now             func() time.Time
	mount           string
	cgCols, nodeCol []column
	cgGroups        []fileGroup
	nodeGroups      []fileGroup
	cg, node, ev    *seriesFile
	kubelet         *summarySampler // nil without a kubelet API (--kubelet off)

	buf     []byte
	cells   [][]byte
	dents   []byte          // getdents buffer
	wanted  map[string]bool // the file names of cgGroups
	present []string        // wanted files the current directory lists
	subdirs []string        // child directories of the current directory
	seen    map[string]bool

	samples     int
	first, last time.Time
	problems    []string
	problemSet  map[string]bool
}

func newRecorder(h Host, spoolDir string, now func() time.Time) (*recorder, error) {
	mount, _, version, err := memoryHierarchy(h)
	r := &recorder{host: h, now: now, mount: mount, nodeCol: nodeColumns, buf: make([]byte, 64<<10), problemSet: map[string]bool{}}
	if err != nil {
		r.problem("cgroup samples: %v", err)
	} else if version == 2 {
		r.cgCols = cgroupColumnsV2
	} else {
		r.cgCols = cgroupColumnsV1
	}
	r.cgGroups, r.nodeGroups = groupColumns(r.cgCols), groupColumns(r.nodeCol)
	r.dents, r.wanted = make([]byte, 16<<10), map[string]bool{}
	for _, g := range r.cgGroups {
		r.wanted[g.file] = true
	}
	header := []string{"ts_ms"}
	for _, c := range r.nodeCol {
		header = append(header, c.name())
	}
	if r.node, err = newSeriesFile(spoolDir, bundle.SeriesNode, header); err != nil {
		return nil, err
	}
	if r.cgCols != nil {
		header = []string{"ts_ms", "cgroup"}
		for _, c := range r.cgCols {
			header = append(header, c.name())
		}
		if r.cg, err = newSeriesFile(spoolDir, bundle.SeriesCgroups, header); err != nil {
			r.node.discard()
			return nil, err
		}
		if r.ev, err = newSeriesFile(spoolDir, bundle.SeriesEvents, []string{"ts_ms", "event", "cgroup"}); err != nil {
			r.node.discard()
			r.cg.discard()
			return nil, err
		}
	}
	return r, nil
}

func (r *recorder) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !r.problemSet[msg] && len(r.problems) < 20 {
		r.problemSet[msg] = true
		r.problems = append(r.problems, msg)
	}
}

func (r *recorder) bytes() int64 {
	n := r.node.bytes()
	if r.cg != nil {
		n += r.cg.bytes() + r.ev.bytes()
	}
	if r.kubelet != nil {
		n += r.kubelet.out.bytes()
	}
	return n
}

// loop samples until the watch ends and says what ended it. Samples are
// taken at fixed ticks from the start, so a slow sample does not shift the
// ones after it (a tick missed while sampling is skipped, not queued).
func (r *recorder) loop(ctx context.Context, opt *Options, full func() bool) string {
	end := time.NewTimer(opt.Watch)
	defer end.Stop()
	tick := time.NewTicker(opt.Every)
	defer tick.Stop()
	for {
		if full() {
			return "max-bytes"
		}
		r.sample()
		if afterSample != nil {
			afterSample(r.samples)
		}
		select {
		case <-ctx.Done():
			r.sample() // the moment the user stopped it
			return "signal"
		case <-end.C:
			r.sample()
			return "duration"
		case <-tick.C:
		}
	}
}

// afterSample is a test seam: called after each sample of the loop.
var afterSample func(samples int)

// sample takes one sample of the node and every cgroup.
func (r *recorder) sample() {
	t := r.now()
	if r.samples == 0 {
		r.first = t
	}
	r.last = t
	r.samples++
	ts := []byte(strconv.FormatInt(t.UnixMilli(), 10))
	if r.kubelet != nil {
		r.kubelet.tick(ts)
	}

	r.cells = r.cells[:0]
	r.cells = append(r.cells, ts)
	vals := r.readGroups(r.nodeGroups, len(r.nodeCol), func(file string) string { return nodeFilesOf[file] })
	r.cells = append(r.cells, vals...)
	r.node.row(r.cells...)

	if r.cg == nil {
		return
	}
	current := map[string]bool{}
	stack := []string{""}
	walked := 0
	for len(stack) > 0 {
		rel := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if walked == maxCgroups {
			r.problem("stopped after %d cgroups", maxCgroups)
			break
		}
		walked++
		dir := r.host.Path(path.Join(r.mount, rel))
		dirfd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
		if err == nil {
			err = r.listDir(dirfd, dir)
		}
		if err != nil {
			if dirfd >= 0 {
				syscall.Close(dirfd)
			}
			if !isGone(err) {
				r.problem("%s: %v", path.Join(r.mount, rel), err)
			}
			continue
		}
		// Children in name order (as os.ReadDir gave them): the rows of a
		// sample keep one order whatever the file system's listing order.
		slices.Sort(r.subdirs)
		for i := len(r.subdirs) - 1; i >= 0; i-- {
			stack = append(stack, path.Join(rel, r.subdirs[i]))
		}
		name := "/" + rel
		current[name] = true
		r.cells = r.cells[:0]
		r.cells = append(r.cells, ts, tsvPath(name))
		vals := r.readGroupsIn(r.cgGroups, len(r.cgCols), dirfd, r.present)
		syscall.Close(dirfd)
		r.cells = append(r.cells, vals...)
		r.cg.row(r.cells...)
	}
	if r.seen != nil {
		var appeared, vanished []string
		for p := range current {
			if !r.seen[p] {
				appeared = append(appeared, p)
			}
		}
		for p := range r.seen {
			if !current[p] {
				vanished = append(vanished, p)
			}
		}
		sort.Strings(appeared)
		sort.Strings(vanished)
		for _, p := range vanished {
			r.ev.row(ts, []byte("vanished"), tsvPath(p))
		}
		for _, p := range appeared {
			r.ev.row(ts, []byte("appeared"), tsvPath(p))
		}
	}
	r.seen = current
}

// readGroupsIn reads the groups' files in the host directory dir, those
// listed in present only, with plain syscalls: a sample opens ~8 files per
// cgroup, and os.Open's extra fstat and Host.Open's symlink and file-type
// checks would double the syscalls. O_NOFOLLOW and O_NONBLOCK keep the
// safety they give (no link leaves the host root, a FIFO cannot block),
// and read stops at 1 MiB whatever the file is.
func (r *recorder) readGroupsIn(groups []fileGroup, n int, dirfd int, present []string) [][]byte {
	out := make([][]byte, n)
	slowTurn := (r.samples-1)%slowEvery == 0
	for _, g := range groups {
		if g.slow && !slowTurn || !slices.Contains(present, g.file) {
			continue
		}
		data, err := r.readAt(dirfd, g.file)
		if err != nil {
			continue // vanished mid-walk, or a file the kernel refuses to read
		}
		if idx, ok := g.keys[""]; ok && len(g.keys) == 1 {
			out[idx] = append([]byte(nil), bytes.TrimSpace(data)...)
			continue
		}
		fillKeyed(data, g.keys, out, g.file == "memory.pressure")
	}
	return out
}

// listDir lists the open directory dirfd into r.subdirs and r.present.
// Only files the listing shows are opened afterwards: a missing memory.peak
// (kernels before 5.19) costs no failed open per cgroup and sample. The
// entries are read with getdents64 directly: os.ReadDir would open the
// directory again, allocate an entry per file (a v2 cgroup lists ~40) and
// sort them all.
func (r *recorder) listDir(dirfd int, dir string) error {
	r.present, r.subdirs = r.present[:0], r.subdirs[:0]
	for {
		n, err := syscall.ReadDirent(dirfd, r.dents)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		// struct linux_dirent64 (man 2 getdents): d_ino u64, d_off s64,
		// d_reclen u16, d_type u8, then the NUL-terminated name.
		for b := r.dents[:n]; len(b) >= 19; {
			reclen := int(byteorder.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				return errors.New("malformed directory listing")
			}
			typ, name := b[18], b[19:reclen]
			b = b[reclen:]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if len(name) == 0 || name[0] == '.' && (len(name) == 1 || len(name) == 2 && name[1] == '.') {
				continue
			}
			if typ == syscall.DT_UNKNOWN { // file systems that do not fill d_type
				var st syscall.Stat_t
				if err := syscall.Lstat(dir+"/"+string(name), &st); err != nil {
					continue // vanished since the listing
				}
				if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
					typ = syscall.DT_DIR
				}
			}
			switch {
			case typ == syscall.DT_DIR:
				r.subdirs = append(r.subdirs, string(name))
			case r.wanted[string(name)]:
				r.present = append(r.present, string(name))
			}
		}
	}
}

// readAt reads the file name of the directory dirfd. Opening it relative to
// the cgroup's directory, already open for its listing, spares the kernel
// a walk of the whole path (ten components on a node) per file and sample.
func (r *recorder) readAt(dirfd int, name string) ([]byte, error) {
	fd, err := syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	n := 0
	for {
		if n == len(r.buf) {
			if len(r.buf) >= 1<<20 {
				return nil, errors.New("file too large")
			}
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := syscall.Read(fd, r.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return r.buf[:n], nil
		}
		n += m
		// A read that leaves more than a page of the buffer unused got
		// the whole file: the cgroup memory files are single-record
		// seq_files, printed whole and copied out as far as the buffer
		// goes (fs/seq_file.c seq_read_iter), and a regular file reads
		// short only at its end. That spares the read that returns 0, a
		// fifth of a cgroup's syscalls per sample.
		if len(r.buf)-n > pageSize {
			return r.buf[:n], nil
		}
	}
}

const pageSize = 4096

// readGroups reads each file once and returns one cell per column, holding
// copies (the read buffer is reused).
func (r *recorder) readGroups(groups []fileGroup, n int, hostPath func(string) string) [][]byte {
	out := make([][]byte, n)
	for _, g := range groups {
		data, err := r.read(hostPath(g.file))
		if err != nil {
			continue // absent (v1 without kmem, no PSI) or vanished mid-walk
		}
		if idx, ok := g.keys[""]; ok && len(g.keys) == 1 {
			out[idx] = append([]byte(nil), bytes.TrimSpace(data)...)
			continue
		}
		fillKeyed(data, g.keys, out, g.file == "pressure" || g.file == "memory.pressure")
	}
	return out
}

func (r *recorder) read(hostPath string) ([]byte, error) {
	f, err := r.host.Open(hostPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := 0
	for {
		if n == len(r.buf) {
			if len(r.buf) >= 1<<20 { // no memory file is this large
				return nil, errors.New("file too large")
			}
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := f.Read(r.buf[n:])
		n += m
		if err == io.EOF {
			return r.buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// fillKeyed picks the wanted keys of a "key value" file (memory.stat,
// memory.events, meminfo's "Key:   123 kB", vmstat) or a PSI file
// ("some avg10=0.00 … total=123" → some.avg10, some.total).
func fillKeyed(data []byte, keys map[string]int, out [][]byte, psi bool) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		fields := bytes.Fields(line)
		if len(fields) < 2 {
			continue
		}
		if psi {
			prefix := string(fields[0])
			for _, f := range fields[1:] {
				k, v, ok := bytes.Cut(f, []byte("="))
				if !ok {
					continue
				}
				if idx, ok := keys[prefix+"."+string(k)]; ok {
					out[idx] = append([]byte(nil), v...)
				}
			}
			continue
		}
		k := bytes.TrimSuffix(fields[0], []byte(":"))
		if idx, ok := keys[string(k)]; ok {
			out[idx] = append([]byte(nil), fields[1]...)
		}
	}
}

// commit closes the series files and adds them to the bundle.
func (r *recorder) commit(w *bundle.Writer) (files int, n int64, err error) {
	list := []*seriesFile{r.node}
	if r.cg != nil {
		list = append(list, r.cg, r.ev)
	}
	if k := r.kubelet; k != nil {
		k.finish()
		if k.bad > 0 {
			r.problem("kubelet summary: %d of %d samples failed (last: %v)", k.bad, k.ok+k.bad, k.lastErr)
		}
		list = append(list, k.out)
	}
	var errs []error
	for _, sf := range list {
		fe, cerr := sf.commit(w)
		if cerr != nil {
			errs = append(errs, cerr)
			continue
		}
		files++
		n += fe.Bytes
	}
	return files, n, errors.Join(errs...)
}
