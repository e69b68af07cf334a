package systemd

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/internal/testcorpus"
)

const (
	showContainerd = "systemctl-show-containerd.service-ubuntu20.04-k8s-master.txt"
	showManager    = "systemctl-show--all-manager-ubuntu20.04-systemd245.txt"
)

func readCorpus(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testcorpus.Path(t, "systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseShowCorpus(t *testing.T) {
	data := readCorpus(t, showContainerd)
	u, err := ParseShow(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	// Every Key=Value line of the file, read independently, is a property.
	sc := bufio.NewScanner(bytes.NewReader(data))
	lines := 0
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		lines++
		if got, _ := u.Get(k); got != v {
			t.Errorf("%s = %q, file has %q", k, got, v)
		}
	}
	if len(u.Props) != lines || len(u.Malformed) != 0 {
		t.Errorf("%d properties (%d malformed), file has %d Key=Value lines", len(u.Props), len(u.Malformed), lines)
	}
	if u.ID() != "containerd.service" || u.ControlGroup() != "/system.slice/containerd.service" || u.ActiveState() != "active" ||
		u.FragmentPath() != "/lib/systemd/system/containerd.service" ||
		strings.Join(u.DropInPaths(), ",") != "/etc/systemd/system/containerd.service.d/proxy.conf" {
		t.Errorf("unit = %s %s %s %s %v", u.ID(), u.ControlGroup(), u.ActiveState(), u.FragmentPath(), u.DropInPaths())
	}
	if b, ok := u.MemoryCurrent(); !ok || b.Value != 28135424 {
		t.Errorf("MemoryCurrent = %v %v", b, ok)
	}
	for name, get := range map[string]func() (Bytes, bool){"MemoryMax": u.MemoryMax, "MemoryLimit": u.MemoryLimit, "MemoryHigh": u.MemoryHigh} {
		if b, ok := get(); !ok || !b.Unlimited {
			t.Errorf("%s = %v %v, want infinity", name, b, ok)
		}
	}

	m, err := ParseShow(bytes.NewReader(readCorpus(t, showManager)))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Get("Version"); v != "245.4-4ubuntu3.15" {
		t.Errorf("Version = %q", v)
	}
	if _, ok := m.MemoryLimit(); ok {
		t.Error("manager block has no MemoryLimit, got one")
	}
}

// kubernetes/kubernetes#88197: the transient unit keeps total RAM.
func TestParseShow88197(t *testing.T) {
	in := "MemoryLimit=3973447680\nControlGroup=/kubepods.slice\nId=kubepods.slice\nMemoryCurrent=[not set]\nMemoryMax=18446744073709551615\nnot a property\n\n" +
		"Id=kubepods-burstable.slice\nMemoryCurrent=18446744073709551615\n"
	units, err := ParseShowAll(strings.NewReader(in))
	if err != nil || len(units) != 2 {
		t.Fatalf("units = %d, %v", len(units), err)
	}
	u := units[0]
	if b, ok := u.MemoryLimit(); !ok || b.Unlimited || b.Value != 3973447680 || u.Line["MemoryLimit"] != 1 {
		t.Errorf("MemoryLimit = %v %v", b, ok)
	}
	if b, ok := u.MemoryMax(); !ok || !b.Unlimited {
		t.Errorf("MemoryMax = %v %v, want unlimited (UINT64_MAX)", b, ok)
	}
	if _, ok := u.MemoryCurrent(); ok {
		t.Error("MemoryCurrent [not set] must be absent")
	}
	if _, ok := units[1].MemoryCurrent(); ok {
		t.Error("MemoryCurrent UINT64_MAX must be absent")
	}
	if len(u.Malformed) != 1 || u.Malformed[0] != 6 {
		t.Errorf("malformed = %v", u.Malformed)
	}
	if _, err := ParseShow(strings.NewReader("\n\n")); err == nil {
		t.Error("empty show output must be an error")
	}
}

func TestParseMemory(t *testing.T) {
	u := func(v uint64) *uint64 { return &v }
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		in        string
		bytes     *uint64
		pct       *float64
		unlimited bool
		reset     bool
		invalid   bool
	}{
		{"3973447680", u(3973447680), nil, false, false, false},
		{"512K", u(512 << 10), nil, false, false, false},
		{"1.5G", u(3 << 29), nil, false, false, false},
		{"2T", u(2 << 40), nil, false, false, false},
		{"100B", u(100), nil, false, false, false},
		{"50%", nil, f(50), false, false, false},
		{"5‰", nil, f(0.5), false, false, false},
		{"infinity", nil, nil, true, false, false},
		{"", nil, nil, false, true, false},
		{"-1", nil, nil, false, false, true},
		{"12X", nil, nil, false, false, true},
		{"1e3", nil, nil, false, false, true},
		{"150%", nil, nil, false, false, true},
		{"99999999999E", nil, nil, false, false, true},
	} {
		s := ParseMemory(tc.in)
		if !eqPtr(s.Bytes, tc.bytes) || !eqPtr(s.Percent, tc.pct) || s.Unlimited != tc.unlimited || s.Reset != tc.reset || s.Invalid != tc.invalid {
			t.Errorf("ParseMemory(%q) = %+v", tc.in, s)
		}
	}
	if b, unl := ParseMemory("25%").Resolve(8 << 30); unl || b != 2<<30 {
		t.Errorf("25%% of 8Gi = %d %v", b, unl)
	}
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func TestParseUnitFile(t *testing.T) {
	in := "# kubelet transient unit\n[Unit]\nDescription=libcontainer container kubepods.slice\nMemoryLimit=1\n\n[Slice]\nMemoryLimit=1G\n" +
		"MemoryAccounting=yes\nMemoryLimit=3973447680\nEnvironment=A=1 \\\n  B=2\ngarbage line\n[Install\n"
	f, err := ParseUnitFile(strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), "line 12: not Key=Value") || !strings.Contains(err.Error(), "line 13: bad section header") {
		t.Errorf("error = %v", err)
	}
	s, ok := f.Memory("MemoryLimit")
	if !ok || s.Bytes == nil || *s.Bytes != 3973447680 || s.Line != 9 {
		t.Errorf("MemoryLimit = %+v %v (the [Unit] one is ignored, the later [Slice] one wins)", s, ok)
	}
	var env Assignment
	for _, a := range f.Assignments {
		if a.Key == "Environment" {
			env = a
		}
	}
	if env.Value != "A=1  B=2" || env.Line != 10 {
		t.Errorf("continued line = %+v", env)
	}
	f, _ = ParseUnitFile(strings.NewReader("[Service]\nMemoryMax=1G\nMemoryMax=\n"))
	if s, ok := f.Memory("MemoryMax"); !ok || !s.Reset {
		t.Errorf("empty assignment must reset: %+v %v", s, ok)
	}
}

func TestEffectiveMemoryLimit88197(t *testing.T) {
	v := bundle.MapView{
		"systemd/files/run/systemd/transient/kubepods.slice": []byte("# This is a transient unit file, created programmatically via the systemd API. Do not edit.\n" +
			"[Unit]\nDescription=libcontainer container kubepods.slice\nWants=-.slice\n\n[Slice]\nMemoryAccounting=yes\nMemoryLimit=2362834944\n"),
		"systemd/files/run/systemd/system/kubepods.slice.d/50-MemoryLimit.conf": []byte("[Slice]\nMemoryLimit=3973447680\n"),
		// Same name lower in the search path: masked by the /run one.
		"systemd/files/usr/lib/systemd/system/kubepods.slice.d/50-MemoryLimit.conf": []byte("[Slice]\nMemoryLimit=1\n"),
		"systemd/files/etc/systemd/system/kubepods.slice.d/10-accounting.conf":      []byte("[Slice]\nCPUAccounting=yes\n"),
		"systemd/files/etc/systemd/system/kubepods.slice.d/readme.txt":              []byte("MemoryLimit=5\n"),
	}
	l, err := EffectiveMemoryLimit(v, "kubepods.slice")
	if err != nil {
		t.Fatal(err)
	}
	if l.Property != "MemoryLimit" || l.Value.Bytes == nil || *l.Value.Bytes != 3973447680 ||
		l.Value.File != "systemd/files/run/systemd/system/kubepods.slice.d/50-MemoryLimit.conf" || l.Value.Line != 2 {
		t.Errorf("limit = %+v value %+v", l, l.Value)
	}
	want := []string{
		"systemd/files/run/systemd/transient/kubepods.slice",
		"systemd/files/etc/systemd/system/kubepods.slice.d/10-accounting.conf",
		"systemd/files/run/systemd/system/kubepods.slice.d/50-MemoryLimit.conf",
	}
	if strings.Join(l.Files, "\n") != strings.Join(want, "\n") {
		t.Errorf("files =\n%s\nwant\n%s", strings.Join(l.Files, "\n"), strings.Join(want, "\n"))
	}

	// A runtime set-property on newer systemd goes to system.control and
	// sets MemoryMax: MemoryMax now governs, MemoryLimit is kept beside it.
	v["systemd/files/run/systemd/system.control/kubepods.slice.d/50-MemoryMax.conf"] = []byte("[Slice]\nMemoryMax=2G\n")
	l, _ = EffectiveMemoryLimit(v, "kubepods.slice")
	if l.Property != "MemoryMax" || *l.Value.Bytes != 2<<30 || l.MemoryLimit == nil || *l.MemoryLimit.Bytes != 3973447680 {
		t.Errorf("limit = %+v", l)
	}

	// An invalid value is reported and ignored, as systemd does.
	v["systemd/files/etc/systemd/system/kubepods.slice.d/99-bad.conf"] = []byte("[Slice]\nMemoryMax=lots\n")
	l, _ = EffectiveMemoryLimit(v, "kubepods.slice")
	if len(l.Problems) != 1 || !strings.Contains(l.Problems[0].Error(), "99-bad.conf:2: MemoryMax=\"lots\"") || *l.Value.Bytes != 2<<30 {
		t.Errorf("problems = %v value %+v", l.Problems, l.Value)
	}

	if _, err := EffectiveMemoryLimit(v, "kubelet.service"); err == nil {
		t.Error("a unit without files must be an error")
	}
}

func TestEffectiveMemoryLimitPrefixDropins(t *testing.T) {
	v := bundle.MapView{
		"systemd/files/etc/systemd/system/kubepods-.slice.d/10-limit.conf":                 []byte("[Slice]\nMemoryLimit=8G\n"),
		"systemd/files/run/systemd/transient/kubepods-burstable.slice":                     []byte("[Slice]\nMemoryAccounting=yes\n"),
		"systemd/files/run/systemd/system/kubepods-burstable.slice.d/20-reset.conf":        []byte("[Slice]\nMemoryLimit=\n"),
		"systemd/files/run/systemd/system/kubepods-besteffort.slice.d/50-MemoryLimit.conf": []byte("[Slice]\nMemoryLimit=1G\n"),
	}
	l, err := EffectiveMemoryLimit(v, "kubepods-burstable.slice")
	if err != nil {
		t.Fatal(err)
	}
	// 10-limit.conf sets 8G, 20-reset.conf resets it: unlimited.
	if !l.Unlimited() || l.MemoryLimit != nil || len(l.Files) != 3 {
		t.Errorf("limit = %+v", l)
	}
	if got := dropinDirs("kubepods-burstable-pod1.slice"); strings.Join(got, " ") != "kubepods-burstable-pod1.slice.d kubepods-burstable-.slice.d kubepods-.slice.d slice.d" {
		t.Errorf("dropinDirs = %v", got)
	}
}

func FuzzParseShow(f *testing.F) {
	f.Add(readCorpus(f, showContainerd))
	f.Add(readCorpus(f, showManager))
	f.Add([]byte("MemoryLimit=3973447680\nMemoryMax=infinity\n\nId=x\nMemoryCurrent=[not set]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		units, _ := ParseShowAll(bytes.NewReader(data))
		for _, u := range units {
			u.MemoryLimit()
			u.MemoryMax()
			u.MemoryHigh()
			if b, ok := u.MemoryCurrent(); ok && b.Unlimited {
				t.Fatal("MemoryCurrent unlimited")
			}
			u.DropInPaths()
		}
	})
}

func FuzzParseUnitFile(f *testing.F) {
	f.Add([]byte("[Slice]\nMemoryLimit=3973447680\n"))
	f.Add([]byte("[Service]\nMemoryMax=1.5G\nMemoryMax=\nMemoryHigh=50%\nX=a \\\n b\\\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		uf, _ := ParseUnitFile(bytes.NewReader(data))
		for _, k := range []string{"MemoryLimit", "MemoryMax"} {
			if s, ok := uf.Memory(k); ok {
				s.Resolve(1 << 30)
			}
		}
	})
}

func FuzzEffectiveMemoryLimit(f *testing.F) {
	f.Add("kubepods.slice", []byte("[Slice]\nMemoryLimit=3973447680\n"))
	f.Add("a-b-c.slice", []byte("[Slice]\nMemoryMax=1%\nMemoryLow=\n"))
	f.Fuzz(func(t *testing.T, unit string, data []byte) {
		v := bundle.MapView{
			"systemd/files/run/systemd/transient/" + unit:                  data,
			"systemd/files/run/systemd/system/" + unit + ".d/50-x.conf":    data,
			"systemd/files/etc/systemd/system/kubepods-.slice.d/10-y.conf": data,
		}
		if l, err := EffectiveMemoryLimit(v, unit); err == nil {
			l.Unlimited()
		}
	})
}
