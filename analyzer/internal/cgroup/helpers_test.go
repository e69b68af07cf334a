package cgroup

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/memsnap/memsnap/internal/golden"

	"golang.org/x/tools/txtar"

	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/internal/testcorpus"
)

// txtarView builds a MapView from testdata/<name>.txtar: one archive member
// per bundle file, so a whole mini-bundle reads as one reviewable file.
func txtarView(t testing.TB, name string) bundle.MapView {
	t.Helper()
	a, err := txtar.ParseFile(filepath.Join("testdata", name+".txtar"))
	if err != nil {
		t.Fatal(err)
	}
	return viewFromArchive(a)
}

func viewFromArchive(a *txtar.Archive) bundle.MapView {
	v := bundle.MapView{}
	for _, f := range a.Files {
		if _, dup := v[f.Name]; !dup {
			v[f.Name] = f.Data
		}
	}
	return v
}

// corpusDirView maps every file of a corpus directory under bundle dir (e.g.
// "cgroup/default/calico-node/"), reading the samples in place.
func corpusDirView(t testing.TB, v bundle.MapView, bundleDir string, corpusDir ...string) {
	t.Helper()
	dir := testcorpus.Path(t, corpusDir...)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		v[bundleDir+e.Name()] = b
	}
}

func corpusFile(t testing.TB, elem ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(testcorpus.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countingView records every Open, to check Load reads each known file once
// and nothing else.
type countingView struct {
	bundle.MapView
	opened map[string]int
}

func (c *countingView) Open(p string) (io.ReadCloser, error) {
	if c.opened == nil {
		c.opened = map[string]int{}
	}
	c.opened[p]++
	return c.MapView.Open(p)
}

// dumpTree renders every node's normalised fields, one per line, with the
// file and key each came from: the golden form of a loaded tree.
func dumpTree(t *Tree) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version %d\n", t.Version)
	for _, n := range t.Sorted() {
		fmt.Fprintf(&b, "\n%s  dir=%s files=%d children=%d\n", n.Path, n.Dir, len(n.Files), len(n.Children))
		rv := reflect.ValueOf(n).Elem()
		rt := rv.Type()
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			if !f.IsExported() {
				continue
			}
			fv := rv.Field(i)
			switch x := fv.Interface().(type) {
			case *Value:
				if x != nil {
					line := fmt.Sprintf("  %-18s %d  %s %s", f.Name, x.N, strings.TrimPrefix(x.File, n.Dir), x.Key)
					b.WriteString(strings.TrimRight(line, " ") + "\n")
				}
			case bool:
				if x {
					fmt.Fprintf(&b, "  %s\n", f.Name)
				}
			case *PSI:
				if x != nil {
					fmt.Fprintf(&b, "  PSI some=%+v full=%+v\n", x.Some, x.Full)
				}
			case []int:
				if x != nil {
					fmt.Fprintf(&b, "  Procs %v\n", x)
				}
			case map[string]int64:
				if x != nil {
					fmt.Fprintf(&b, "  Stat %d keys\n", len(x))
				}
			}
		}
	}
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name+".golden"), []byte(got))
}

// checkTreeInvariants holds for every tree Load returns, whatever the input.
func checkTreeInvariants(t *testing.T, tr *Tree) {
	t.Helper()
	if tr.Root == nil || tr.Nodes["/"] != tr.Root {
		t.Fatal("tree has no root")
	}
	for p, n := range tr.Nodes {
		if n.Path != p {
			t.Fatalf("node %q stored under %q", n.Path, p)
		}
		if p != "/" && (n.Parent == nil || !slices.Contains(n.Parent.Children, n)) {
			t.Fatalf("node %q is not linked to its parent", p)
		}
		if !slices.IsSortedFunc(n.Children, func(a, b *Node) int { return strings.Compare(a.Path, b.Path) }) {
			t.Fatalf("children of %q not sorted", p)
		}
		if n.WorkingSet != nil {
			if n.Usage == nil || n.WorkingSet.N < 0 || n.WorkingSet.N > n.Usage.N {
				t.Fatalf("%s: working set %d outside [0, usage]", p, n.WorkingSet.N)
			}
		}
	}
	if len(tr.Sorted()) != len(tr.Nodes) {
		t.Fatalf("Sorted has %d nodes, map %d", len(tr.Sorted()), len(tr.Nodes))
	}
}
