package kubeletconfig

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/memsnap/memsnap/bundle"
)

// Version is a kubelet version from kubelet/version.txt ("Kubernetes
// v1.20.11") or the node's kubeletVersion ("v1.29.4-eks-036c24b").
type Version struct {
	Major, Minor, Patch int
	// Pre is the pre-release or vendor suffix after "-" ("eks-036c24b",
	// "rc.1"); Build is what follows "+" ("k3s1").
	Pre, Build string
	Raw        string
}

func (v Version) String() string { return v.Raw }

// AtLeast reports whether v ≥ major.minor (the suffix is ignored: vendor
// builds carry the upstream fixes of their base version).
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

var versionRE = regexp.MustCompile(`\bv?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?(?:-([0-9A-Za-z.-]{1,128}))?(?:\+([0-9A-Za-z.-]{1,128}))?`)

// ParseVersion reads the first version in kubelet/version.txt.
func ParseVersion(r io.Reader) (Version, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return Version{}, fmt.Errorf("%s: read: %w", bundle.KubeletVersion, err)
	}
	return ParseVersionString(string(b))
}

// ParseVersionString parses a version string such as "v1.20.11".
func ParseVersionString(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%s: no version in %.60q", bundle.KubeletVersion, strings.TrimSpace(s))
	}
	v := Version{Pre: m[4], Build: m[5], Raw: strings.TrimSpace(m[0])}
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		v.Patch, _ = strconv.Atoi(m[3])
	}
	return v, nil
}
