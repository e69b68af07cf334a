package listing

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

func TestParseFds(t *testing.T) {
	in := "/var/log/app/access.log\t811000000\n" +
		strconv.Quote("/data/with\ttab") + "\t42\n" +
		"\n" +
		"/broken\tnot-a-number\n" +
		"/too\tmany\tfields\n" +
		`"/bad\q"` + "\t1\n" +
		"/tmp/crlf\t7\r\n"
	files, problems := ParseFds(strings.NewReader(in))
	want := []OpenFile{
		{Path: "/var/log/app/access.log", SizeBytes: 811000000, Line: 1},
		{Path: "/data/with\ttab", SizeBytes: 42, Line: 2},
		{Path: "/tmp/crlf", SizeBytes: 7, Line: 7},
	}
	if len(files) != len(want) {
		t.Fatalf("got %d files %+v, want %d", len(files), files, len(want))
	}
	for i := range want {
		if files[i] != want[i] {
			t.Errorf("file %d = %+v, want %+v", i, files[i], want[i])
		}
	}
	wantLines := []int{4, 5, 6}
	if len(problems) != len(wantLines) {
		t.Fatalf("problems = %v, want lines %v", problems, wantLines)
	}
	for i, p := range InFile("proc/42/fds.tsv", problems) {
		if p.Line != wantLines[i] || !strings.HasPrefix(p.Error(), "proc/42/fds.tsv:"+strconv.Itoa(wantLines[i])+": ") {
			t.Errorf("problem %d = %q, want line %d", i, p.Error(), wantLines[i])
		}
	}
}

func TestParseTmpfs(t *testing.T) {
	in := "/var/lib/kubelet/pods/0b7c1a3e-5f4d-4c1b-9a51-2f0e8d7c6b5a/volumes/kubernetes.io~empty-dir/cache\t4294967296\t3221225472\n" +
		"/var/lib/kubelet/pods/x/volumes/kubernetes.io~secret/token\t-1\t0\n"
	mounts, problems := ParseTmpfs(strings.NewReader(in))
	if len(mounts) != 1 || mounts[0].SizeBytes != 4<<30 || mounts[0].UsedBytes != 3<<30 {
		t.Fatalf("mounts = %+v", mounts)
	}
	if len(problems) != 1 || problems[0].Line != 2 || !strings.HasPrefix(problems[0].Error(), "volumes/tmpfs.tsv:2: size") {
		t.Fatalf("problems = %v", problems)
	}
	uid, vol, ok := PodUIDFromVolumePath(mounts[0].Path)
	if !ok || uid != "0b7c1a3e-5f4d-4c1b-9a51-2f0e8d7c6b5a" || vol != "cache" {
		t.Fatalf("PodUIDFromVolumePath = %q %q %v", uid, vol, ok)
	}
}

func TestPodUIDFromVolumePath(t *testing.T) {
	for _, tc := range []struct {
		path, uid, vol string
		ok             bool
	}{
		{"/var/lib/kubelet/pods/0b7c1a3e-5f4d-4c1b-9a51-2f0e8d7c6b5a/volumes/kubernetes.io~empty-dir/shm", "0b7c1a3e-5f4d-4c1b-9a51-2f0e8d7c6b5a", "shm", true},
		// static pod UID (32 hex), custom --root-dir, a file inside the volume
		{"/data/kubelet/pods/8daa50c3a64c9ff60bb9eab7b44b56fd/volumes/kubernetes.io~empty-dir/tmp/x.log", "8daa50c3a64c9ff60bb9eab7b44b56fd", "tmp", true},
		{"/var/lib/kubelet/pods/0b7c1a3e-5f4d-4c1b-9a51-2f0e8d7c6b5a/volumes/kubernetes.io~secret/token", "", "", false},
		{"/var/lib/kubelet/pods/not-a-uid/volumes/kubernetes.io~empty-dir/shm", "", "", false},
		{"/var/lib/kubelet/pods/0b7c1a3e-5f4d-4c1b-9a51-2f0e8d7c6b5a/volumes/kubernetes.io~empty-dir", "", "", false},
		{"", "", "", false},
	} {
		uid, vol, ok := PodUIDFromVolumePath(tc.path)
		if uid != tc.uid || vol != tc.vol || ok != tc.ok {
			t.Errorf("PodUIDFromVolumePath(%q) = %q, %q, %v; want %q, %q, %v", tc.path, uid, vol, ok, tc.uid, tc.vol, tc.ok)
		}
	}
}

// A 10 MB line (DESIGN §6) is skipped with a problem and the lines after it
// are still read; memory stays bounded by MaxLineBytes.
func TestLongLineSkipped(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("/a\t1\n")
	b.WriteString(strings.Repeat("x", 10<<20))
	b.WriteString("\t2\n/b\t3")
	files, problems := ParseFds(&b)
	if len(files) != 2 || files[0].Path != "/a" || files[1].Path != "/b" || files[1].Line != 3 {
		t.Fatalf("files = %+v", files)
	}
	if len(problems) != 1 || problems[0].Line != 2 || !strings.Contains(problems[0].Msg, "longer than") {
		t.Fatalf("problems = %v", problems)
	}
}

func TestMaxRecords(t *testing.T) {
	var b bytes.Buffer
	for range MaxRecords + 5 {
		b.WriteString("/f\t1\n")
	}
	files, problems := ParseFds(&b)
	if len(files) != MaxRecords || len(problems) != 1 || problems[0].Line != MaxRecords+1 {
		t.Fatalf("files = %d, problems = %v", len(files), problems)
	}
}

func TestLinesNoTrailingNewline(t *testing.T) {
	var got []string
	err := Lines(strings.NewReader("a\n\nb"), 10, func(n int, line []byte, tooLong bool) bool {
		got = append(got, strconv.Itoa(n)+":"+string(line))
		return true
	})
	if err != nil || strings.Join(got, ",") != "1:a,2:,3:b" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func FuzzParseFds(f *testing.F) {
	f.Add([]byte("/var/log/app.log\t1024\n\"/a\\tb\"\t3\n"))
	f.Add([]byte("/x\t-1\n\t\t\n\"unterminated\t1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		files, problems := ParseFds(bytes.NewReader(data))
		for _, fl := range files {
			if fl.SizeBytes < 0 || fl.Line <= 0 || fl.Path == "" {
				t.Fatalf("bad record %+v", fl)
			}
		}
		for _, p := range problems {
			_ = p.Error()
		}
	})
}

func FuzzParseTmpfs(f *testing.F) {
	f.Add([]byte("/var/lib/kubelet/pods/0b7c1a3e-5f4d-4c1b-9a51-2f0e8d7c6b5a/volumes/kubernetes.io~empty-dir/cache\t4294967296\t3221225472\n"))
	f.Add([]byte("\"/p\\x00\"\t1\t2\r\n/q\t1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mounts, _ := ParseTmpfs(bytes.NewReader(data))
		for _, m := range mounts {
			if m.SizeBytes < 0 || m.UsedBytes < 0 {
				t.Fatalf("negative sizes %+v", m)
			}
			PodUIDFromVolumePath(m.Path)
		}
	})
}

func FuzzPodUIDFromVolumePath(f *testing.F) {
	f.Add("/var/lib/kubelet/pods/0b7c1a3e-5f4d-4c1b-9a51-2f0e8d7c6b5a/volumes/kubernetes.io~empty-dir/shm")
	f.Add("pods/8daa50c3a64c9ff60bb9eab7b44b56fd/volumes/kubernetes.io~empty-dir/a/../b")
	f.Fuzz(func(t *testing.T, p string) {
		uid, vol, ok := PodUIDFromVolumePath(p)
		if ok && (!isPodUID(uid) || vol == "" || strings.Contains(vol, "/")) {
			t.Fatalf("PodUIDFromVolumePath(%q) = %q, %q", p, uid, vol)
		}
	})
}
