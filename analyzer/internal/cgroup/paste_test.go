package cgroup

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/internal/testcorpus"
)

// tailPaste is `tail -n +1 /sys/fs/cgroup/memory/memory.*` inside a v1
// container, quoted in a mail reply (written after GNU tail's layout; the
// write-only memory.force_empty makes tail complain on stderr, captured too).
const tailPaste = `> Here is what the container shows:
> [root@trade-prod-6d8f9c7b4-zj67p /]# tail -n +1 /sys/fs/cgroup/memory/memory.*
> ==> /sys/fs/cgroup/memory/memory.limit_in_bytes <==
> 17179869184
>
> ==> /sys/fs/cgroup/memory/memory.max_usage_in_bytes <==
> 7012352000
>
> ==> /sys/fs/cgroup/memory/memory.stat <==
> cache 118784000
> rss 6893568000
> shmem 0
> total_cache 118784000
> total_rss 6893568000
> total_shmem 0
> total_inactive_file 98304000
> total_active_file 20480000
>
> tail: cannot open '/sys/fs/cgroup/memory/memory.force_empty' for reading: Invalid argument
> ==> /sys/fs/cgroup/memory/memory.usage_in_bytes <==
> 7012352000
`

func TestSplitPasted(t *testing.T) {
	files, err := SplitPasted(strings.NewReader(strings.ReplaceAll(tailPaste, "\n", "\r\n")), "mail.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Dir+" "+f.Base)
	}
	want := "/sys/fs/cgroup/memory memory.limit_in_bytes,/sys/fs/cgroup/memory memory.max_usage_in_bytes,/sys/fs/cgroup/memory memory.stat,/sys/fs/cgroup/memory memory.usage_in_bytes"
	if strings.Join(got, ",") != want {
		t.Errorf("files %v\nwant %s", got, want)
	}
	if string(files[0].Data) != "17179869184\n" || files[2].Line != 9 || !strings.HasPrefix(string(files[2].Data), "cache 118784000\nrss") {
		t.Errorf("first %q, stat line %d data %q", files[0].Data, files[2].Line, files[2].Data)
	}
}

// A bare memory.stat (the real corpus files) and a bare memory.events are
// named by their keys; a lone number is not.
func TestSplitPastedHeaderless(t *testing.T) {
	for _, name := range []string{"docker-v1-container-memory.stat", "oomd-fixture-v2-early-memory.stat"} {
		b, err := os.ReadFile(testcorpus.Path(t, "cgroup", name))
		if err != nil {
			t.Fatal(err)
		}
		files, err := SplitPasted(bytes.NewReader(b), name)
		if err != nil || len(files) != 1 || files[0].Base != "memory.stat" || files[0].Dir != "" {
			t.Errorf("%s: %+v %v", name, files, err)
		}
		m, probs := ParseStat(bytes.NewReader(files[0].Data), name)
		want, _ := ParseStat(bytes.NewReader(b), name)
		if len(probs) != 0 || len(m) != len(want) || len(m) < 10 {
			t.Errorf("%s: %d keys (%v), want the file's %d", name, len(m), probs, len(want))
		}
	}
	files, err := SplitPasted(strings.NewReader("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n"), "events.txt")
	if err != nil || files[0].Base != "memory.events" {
		t.Errorf("memory.events: %+v %v", files, err)
	}
	for _, bad := range []string{"7012352000\n", "\n\n", "hello world\n"} {
		if _, err := SplitPasted(strings.NewReader(bad), "x.txt"); err == nil || !strings.HasPrefix(err.Error(), "x.txt: ") {
			t.Errorf("%q: error %v, want one naming x.txt", bad, err)
		}
	}
}

// LoadCited over the split paste: the numbers cite the pasted file, keyed by
// the file (or memory.stat key) they were read from.
func TestLoadCitedPaste(t *testing.T) {
	files, err := SplitPasted(strings.NewReader(tailPaste), "mail.txt")
	if err != nil {
		t.Fatal(err)
	}
	view := bundle.MapView{}
	for _, f := range files {
		view["cgroup/pod/c/"+f.Base] = f.Data
	}
	tree, probs := LoadCited(view, 0, func(string) string { return "mail.txt" })
	if len(probs) != 0 {
		t.Fatal(probs)
	}
	n := tree.Nodes["/pod/c"]
	if tree.Version != 1 || n == nil || n.Usage == nil || n.Usage.N != 7012352000 || n.Usage.File != "mail.txt" || n.Usage.Key != "memory.usage_in_bytes" {
		t.Fatalf("version %d node %+v", tree.Version, n)
	}
	if n.WorkingSet == nil || n.WorkingSet.N != 7012352000-98304000 {
		t.Errorf("working set %+v", n.WorkingSet)
	}
	if n.Shmem == nil || n.Shmem.File != "mail.txt" || n.Shmem.Key != "total_shmem" || n.Hierarchical("rss").File != "mail.txt" {
		t.Errorf("shmem %+v", n.Shmem)
	}
	if l, ok := n.LimitBytes(); !ok || l != 16<<30 || n.MaxUsage.N != 7012352000 {
		t.Errorf("limit %d %v max usage %+v", l, ok, n.MaxUsage)
	}
	// Load itself still cites bundle paths, without keys for single files.
	plain, _ := Load(view, 0)
	if u := plain.Nodes["/pod/c"].Usage; u.File != "cgroup/pod/c/memory.usage_in_bytes" || u.Key != "" {
		t.Errorf("Load cites %+v", u)
	}
}

func FuzzSplitPasted(f *testing.F) {
	f.Add([]byte(tailPaste))
	f.Add([]byte("==> <==\n==> / <==\n1\n==> a/b/ <==\ncache 1\nrss 2\n"))
	seedCorpus(f, isStat)
	f.Fuzz(func(t *testing.T, b []byte) {
		files, err := SplitPasted(bytes.NewReader(b), "f")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(files) == 0 {
			t.Fatal("no error and no file")
		}
		view := bundle.MapView{}
		for _, pf := range files {
			if pf.Base == "" {
				t.Fatalf("file without a name: %+v", pf)
			}
			view["cgroup/x/"+pf.Base] = pf.Data
		}
		LoadCited(view, 0, func(p string) string { return "f" })
	})
}
