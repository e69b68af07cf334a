package snapshot

import (
	"io"
	"strings"

	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"

	"github.com/memsnap/memsnap/analyzer/internal/kubeletconfig"
	"github.com/memsnap/memsnap/analyzer/internal/systemd"
	"github.com/memsnap/memsnap/bundle"
)

// buildKubeletConfig merges config.yaml, flags.txt and configz.json as the
// kubelet does (flags override the file; configz is the running kubelet's own
// view and wins where present).
func (s *Snapshot) buildKubeletConfig() {
	var file, configz *kubeletv1beta1.KubeletConfiguration
	var flags *kubeletconfig.Flags
	any := false
	any = s.parse(bundle.KubeletConfigYAML, func(r io.Reader) error {
		c, err := kubeletconfig.ParseConfigFile(r)
		file = c
		return err
	}) || any
	any = s.parse(bundle.KubeletConfigz, func(r io.Reader) error {
		c, err := kubeletconfig.ParseConfigz(r)
		configz = c
		return err
	}) || any
	any = s.parse(bundle.KubeletFlags, func(r io.Reader) error {
		f, err := kubeletconfig.ParseFlags(r)
		flags = f
		return err
	}) || any
	if any {
		cfg, errs := kubeletconfig.Merge(file, configz, flags)
		for _, err := range errs {
			s.Problemf("kubelet configuration: %v", err)
		}
		s.KubeletConfig = cfg
		s.setHas(DataKubeletConfig)
	}
	s.parse(bundle.KubeletVersion, func(r io.Reader) error {
		v, err := kubeletconfig.ParseVersion(r)
		s.KubeletVersion = strings.TrimSpace(v.Raw)
		return err
	})
}

func (s *Snapshot) buildSystemd() {
	s.Systemd = map[string]*systemd.Unit{}
	for _, p := range s.View.List(bundle.SystemdDir) {
		rest := strings.TrimPrefix(p, bundle.SystemdDir)
		if strings.Contains(rest, "/") || !strings.HasSuffix(rest, ".show") {
			continue
		}
		name := strings.TrimSuffix(rest, ".show")
		s.parse(p, func(r io.Reader) error {
			u, err := systemd.ParseShow(r)
			if u != nil {
				s.Systemd[name] = u
			}
			return err
		})
	}
	if len(s.Systemd) > 0 || len(s.View.List(bundle.SystemdFilesDir)) > 0 {
		s.setHas(DataSystemd)
	}
}
