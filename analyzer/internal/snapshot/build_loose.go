package snapshot

import (
	"bufio"
	"io"
	"regexp"
	"strings"

	"github.com/memsnap/memsnap/analyzer/internal/kube"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/bundle/loose"
)

// looseInput is a view over loose files (bundle.Bundle of a ticket's
// attachments): what each file was taken as, and the file by its own name.
type looseInput interface {
	LooseFiles() []bundle.LooseFile
	OpenLoose(path string) (io.ReadCloser, error)
}

// API-mode bundle paths (kubectl memsnap, no node access): the pods of the
// node and its events from the API server.
const (
	kubePods   = bundle.KubePods
	kubeEvents = bundle.KubeEvents
)

// buildKubeObjects reads what the API server says, in whichever shape it came:
// kube/pods.json and kube/events.json of an API-mode bundle, and loose pod,
// node and event files (JSON or YAML, one object, a list or several
// documents; event tables as kubectl prints them). Pods are merged into the
// pod list by UID, else namespace/name.
func (s *Snapshot) buildKubeObjects() {
	s.parse(kubePods, func(r io.Reader) error {
		objs, err := kube.DecodeObjects(r, kubePods, "Pod")
		if err != nil {
			return err
		}
		pl, err := kube.PodsFromObjects(objs, kubePods)
		s.mergePods(pl, kubePods)
		return err
	})
	s.parse(kubeEvents, func(r io.Reader) error {
		objs, err := kube.DecodeObjects(r, kubeEvents, "Event")
		if err != nil {
			return err
		}
		evs, err := kube.EventsFromObjects(objs, kubeEvents)
		s.Events = append(s.Events, evs...)
		return err
	})
	li, ok := s.View.(looseInput)
	if !ok {
		return
	}
	for _, lf := range li.LooseFiles() {
		if lf.Reason != "" && lf.Target == "" {
			continue
		}
		read := func(fn func(io.Reader) error) {
			rc, err := li.OpenLoose(lf.Path)
			if err != nil {
				s.Problemf("%s: %v", lf.Path, err)
				return
			}
			defer rc.Close()
			if err := fn(rc); err != nil {
				s.Problemf("%s: %v (this file is skipped; other rules still ran)", lf.Path, err)
			}
		}
		switch lf.Kind {
		case loose.Pods:
			read(func(r io.Reader) error {
				objs, err := kube.DecodeObjects(r, lf.Path, "Pod")
				if err != nil {
					return err
				}
				pl, err := kube.PodsFromObjects(objs, lf.Path)
				s.mergePods(pl, lf.Path)
				return err
			})
		case loose.Node:
			read(func(r io.Reader) error {
				objs, err := kube.DecodeObjects(r, lf.Path, "Node")
				if err != nil {
					return err
				}
				n, err := kube.NodeFromObjects(objs, lf.Path)
				if n != nil && s.KubeNode == nil {
					s.KubeNode, s.KubeNodeFile = n, lf.Path
				}
				return err
			})
		case loose.Events:
			read(func(r io.Reader) error {
				objs, err := kube.DecodeObjects(r, lf.Path, "Event")
				if err != nil {
					return err
				}
				evs, err := kube.EventsFromObjects(objs, lf.Path)
				s.Events = append(s.Events, evs...)
				return err
			})
		case loose.CgroupFiles:
			read(func(r io.Reader) error {
				if err := s.readPasted(r, lf.Path); err != nil {
					s.Problemf("%v (this file is skipped; other rules still ran)", err)
				}
				return nil
			})
		case loose.TopPod:
			read(func(r io.Reader) error {
				rows, err := kube.ParseTop(io.LimitReader(r, kube.MaxJSONBytes), lf.Path)
				s.TopPods = append(s.TopPods, rows...)
				return err
			})
		case loose.EventsText, loose.DescribePod, loose.DescribeNode:
			read(func(r io.Reader) error {
				data, err := io.ReadAll(io.LimitReader(r, kube.MaxJSONBytes))
				if err != nil {
					return err
				}
				involved := describedObject(string(data), lf.Kind)
				ns := ""
				if m := describeNamespace.FindStringSubmatch(string(data)); m != nil && lf.Kind == loose.DescribePod {
					ns = m[1]
				}
				for _, ev := range kube.ParseEventsText(strings.NewReader(string(data)), lf.Path, involved) {
					if ev.Namespace == "" {
						ev.Namespace = ns
					}
					s.Events = append(s.Events, ev)
				}
				switch lf.Kind {
				case loose.DescribePod:
					pl, err := kube.ParseDescribePods(strings.NewReader(string(data)), lf.Path)
					if err != nil {
						s.Problemf("%v (its Events section was read, the pod is not)", err)
						return nil
					}
					s.mergePods(pl, lf.Path)
				case loose.DescribeNode:
					n, err := kube.ParseDescribeNode(strings.NewReader(string(data)), lf.Path)
					if err != nil {
						s.Problemf("%v (its Events section was read, the node is not)", err)
						return nil
					}
					if s.KubeNode == nil {
						s.KubeNode, s.KubeNodeFile = n, lf.Path
					}
				}
				return nil
			})
		}
	}
	if s.PodList != nil {
		s.setHas(DataPods)
	}
}

func (s *Snapshot) mergePods(pl *kube.PodList, file string) {
	if pl == nil {
		return
	}
	if s.PodList == nil {
		s.PodList, s.PodListFile = pl, file
		return
	}
	s.PodList.Merge(pl)
}

var describeName = regexp.MustCompile(`(?m)^Name:\s+(\S+)`)
var describeNamespace = regexp.MustCompile(`(?m)^Namespace:\s+(\S+)`)

// describedObject names the object of `kubectl describe` output: "pod/ns/name"
// style is not kubectl's, so it is "pod/<name>" (namespace kept apart) or
// "node/<name>".
func describedObject(text string, k loose.Kind) string {
	m := describeName.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	switch k {
	case loose.DescribePod:
		return "pod/" + m[1]
	case loose.DescribeNode:
		return "node/" + m[1]
	}
	return ""
}

// kernelLogHost takes the host field of the first syslog/journal kernel
// line ("Jun 29 07:24:44 compute-11 kernel: …"), to name a node from a
// kernel log alone.
func kernelLogHost(r io.Reader) string {
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 0; sc.Scan() && n < 2000; n++ {
		if m := syslogHost.FindStringSubmatch(strings.TrimLeft(sc.Text(), " \t>")); m != nil {
			return m[1]
		}
	}
	return ""
}

var syslogHost = regexp.MustCompile(`^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\dT\S+) (\S+) kernel: `)
