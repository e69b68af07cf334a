package cgroup

import (
	"bytes"
	"sync"
)

// twoFields is bytes.Fields for the "key value" lines of the flat-keyed
// files without the slice it allocates per line: it returns the first two
// fields and how many there are. A line with a non-ASCII byte goes through
// bytes.Fields itself, so Unicode spaces split exactly as before.
func twoFields(line []byte) (a, b []byte, n int) {
	for _, c := range line {
		if c >= 0x80 {
			f := bytes.Fields(line)
			switch len(f) {
			case 0:
				return nil, nil, 0
			case 1:
				return f[0], nil, 1
			}
			return f[0], f[1], len(f)
		}
	}
	i := 0
	for {
		for i < len(line) && asciiSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return a, b, n
		}
		j := i
		for j < len(line) && !asciiSpace(line[j]) {
			j++
		}
		switch n {
		case 0:
			a = line[i:j]
		case 1:
			b = line[i:j]
		}
		n++
		i = j
	}
}

// asciiSpace is unicode.IsSpace below 0x80, the set bytes.Fields splits on.
func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// interner hands out one string per distinct key: memory.stat has the same
// ~40 keys in each of a node's thousands of cgroups, and each parse made its
// own copies (13 MB of the live heap at 1,000 pods). It stops adding once it
// holds maxInterned keys, so a hostile bundle with endless distinct keys
// costs no more than before.
type interner struct {
	mu sync.RWMutex
	m  map[string]string
}

const maxInterned = 4096

var keys = &interner{m: map[string]string{}}

func (in *interner) intern(b []byte) string {
	in.mu.RLock()
	s, ok := in.m[string(b)]
	in.mu.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	if len(b) > 64 {
		return s
	}
	in.mu.Lock()
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	in.mu.Unlock()
	return s
}
