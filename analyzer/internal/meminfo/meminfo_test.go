package meminfo

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// testdata/meminfo-6.18-24g is /proc/meminfo of a 24 GiB Linux 6.18 VM.
func TestParseReal(t *testing.T) {
	b, err := os.ReadFile("testdata/meminfo-6.18-24g")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		got  *int64
		want int64
	}{
		"MemTotal":        {m.MemTotal, 24683620 * 1024},
		"MemFree":         {m.MemFree, 22032084 * 1024},
		"MemAvailable":    {m.MemAvailable, 23606220 * 1024},
		"Buffers":         {m.Buffers, 36288 * 1024},
		"Cached":          {m.Cached, 1682180 * 1024},
		"Shmem":           {m.Shmem, 8884 * 1024},
		"Active(file)":    {m.ActiveFile, 1156352 * 1024},
		"Inactive(file)":  {m.InactiveFile, 553204 * 1024},
		"SwapTotal":       {m.SwapTotal, 0},
		"SwapFree":        {m.SwapFree, 0},
		"Slab":            {m.Slab, 187624 * 1024},
		"SReclaimable":    {m.SReclaimable, 155880 * 1024},
		"SUnreclaim":      {m.SUnreclaim, 31744 * 1024},
		"HugePages_Total": {m.HugePagesTotal, 0},
		"Hugepagesize":    {m.Hugepagesize, 2048 * 1024},
		"Hugetlb":         {m.Hugetlb, 0},
	} {
		if tc.got == nil || *tc.got != tc.want {
			t.Errorf("%s = %v, want %d", name, deref(tc.got), tc.want)
		}
	}
	if m.Fields["VmallocTotal"] != 34359738367*1024 || m.Fields["HugePages_Free"] != 0 || len(m.Fields) != 53 {
		t.Errorf("Fields: %d entries, VmallocTotal %d", len(m.Fields), m.Fields["VmallocTotal"])
	}
}

func TestParseAbsentAndGarbage(t *testing.T) {
	in := "MemTotal: 1000 kB\nMemFree: x kB\ngarbage\nHugePages_Total: 4\nCached: 5 MB\nMemTotal: 7 kB\n" +
		strings.Repeat("y", 5000) + "\nSlab: 1 kB\n"
	m, err := Parse(strings.NewReader(in))
	if m == nil || err == nil {
		t.Fatalf("want a partial result and an error, got %v, %v", m, err)
	}
	if *m.MemTotal != 1000*1024 || *m.HugePagesTotal != 4 {
		t.Errorf("MemTotal %d HugePages_Total %d", *m.MemTotal, *m.HugePagesTotal)
	}
	if m.MemFree != nil || m.MemAvailable != nil || m.Cached != nil {
		t.Errorf("absent/unreadable fields must stay nil: %v %v %v", m.MemFree, m.MemAvailable, m.Cached)
	}
	for _, want := range []string{
		`node/meminfo:2: "MemFree": invalid value "x"`,
		`node/meminfo:3: want "Key: value"`,
		`node/meminfo:5: "Cached": want a number and optional kB`,
		`node/meminfo:6: "MemTotal": duplicate`,
		`node/meminfo:7: bufio.Scanner: token too long`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	b, err := os.ReadFile("testdata/meminfo-6.18-24g")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("MemTotal: 9223372036854775807 kB\nHugePages_Total: -1\n:\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, _ := Parse(bytes.NewReader(b))
		if m == nil || len(m.Fields) > maxFields {
			t.Fatal("nil or unbounded result")
		}
		for k, v := range m.Fields {
			if v < 0 {
				t.Fatalf("%s = %d", k, v)
			}
		}
		if m.MemTotal != nil && *m.MemTotal != m.Fields["MemTotal"] {
			t.Fatal("MemTotal disagrees with Fields")
		}
	})
}

func deref(p *int64) any {
	if p == nil {
		return "nil"
	}
	return *p
}
