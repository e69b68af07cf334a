package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"time"

	"github.com/memsnap/memsnap/bundle"
)

// The kubelet's own view of memory each interval (issue #15): its
// /stats/summary working set is what eviction and `kubectl top` use, so
// the analyzer shows it next to the cgroup's (docs/series.md). The summary
// is reduced to a few numbers per node, pod and container here, not stored
// whole: 250 pods' summary is ~300 KB a sample, forty times the budget of
// the cgroup series. Fields: k8s.io/kubelet/pkg/apis/stats/v1alpha1
// (types.go: NodeStats, PodStats, ContainerStats, MemoryStats).

// summaryHeader is series/kubelet-summary.tsv.gz's header. A row with an
// error cell is a failed sample (no numbers).
var summaryHeader = []string{"ts_ms", "stat_ms", "node", "namespace", "pod", "pod_uid", "container",
	"workingSetBytes", "usageBytes", "rssBytes", "availableBytes", "error"}

type summaryMemory struct {
	Time            string  `json:"time"`
	AvailableBytes  *uint64 `json:"availableBytes"`
	UsageBytes      *uint64 `json:"usageBytes"`
	WorkingSetBytes *uint64 `json:"workingSetBytes"`
	RSSBytes        *uint64 `json:"rssBytes"`
}

type summaryDoc struct {
	Node struct {
		NodeName string         `json:"nodeName"`
		Memory   *summaryMemory `json:"memory"`
	} `json:"node"`
	Pods []struct {
		PodRef struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
			UID       string `json:"uid"`
		} `json:"podRef"`
		Memory     *summaryMemory `json:"memory"`
		Containers []struct {
			Name   string         `json:"name"`
			Memory *summaryMemory `json:"memory"`
		} `json:"containers"`
	} `json:"pods"`
}

// summaryResult is one finished fetch: the rows to write, or why it failed.
type summaryResult struct {
	ts   []byte
	rows [][][]byte
	err  error
}

// summarySampler fetches the summary in the background, one request at a
// time, so a slow kubelet never delays the cgroup samples: each request is
// cut at min(--timeout, --every), a failure is one row, and the next
// request starts at the next sample, not in a retry loop.
type summarySampler struct {
	client  *http.Client
	token   string
	url     string
	timeout time.Duration
	out     *seriesFile

	pending chan summaryResult // nil when no request is in flight
	ok, bad int
	lastErr error
}

func newSummarySampler(c *collection, spoolDir string) (*summarySampler, error) {
	client, token, err := c.kubeletClient()
	if err != nil {
		return nil, fmt.Errorf("kubelet summary: %w", err)
	}
	return newSummarySamplerAt(client, token, c.opt.KubeletURL, min(c.opt.Timeout, c.opt.Every), spoolDir)
}

func newSummarySamplerAt(client *http.Client, token, kubeletURL string, timeout time.Duration, spoolDir string) (*summarySampler, error) {
	out, err := newSeriesFile(spoolDir, bundle.SeriesKubeletSummary, summaryHeader)
	if err != nil {
		return nil, err
	}
	return &summarySampler{
		client: client, token: token, url: strings.TrimSuffix(kubeletURL, "/") + "/stats/summary",
		timeout: timeout, out: out,
	}, nil
}

// tick writes a finished request's rows and starts the next request when
// none is in flight. ts is the sample's time cell.
func (k *summarySampler) tick(ts []byte) {
	if k.pending != nil {
		select {
		case res := <-k.pending:
			k.write(res)
		default:
			return // still in flight: this interval has no summary
		}
	}
	ch := make(chan summaryResult, 1)
	k.pending = ch
	go func() {
		rows, err := k.fetch()
		ch <- summaryResult{ts: ts, rows: rows, err: err}
	}()
}

// finish waits for the request in flight (at most its timeout) and writes it.
func (k *summarySampler) finish() {
	if k.pending != nil {
		k.write(<-k.pending)
		k.pending = nil
	}
}

func (k *summarySampler) write(res summaryResult) {
	if res.err != nil {
		k.bad++
		k.lastErr = res.err
		msg := strings.NewReplacer("\t", " ", "\n", " ").Replace(res.err.Error())
		k.out.row(res.ts, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, []byte(msg))
		return
	}
	k.ok++
	for _, r := range res.rows {
		k.out.row(append([][]byte{res.ts}, r...)...)
	}
}

func (k *summarySampler) fetch() ([][][]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), k.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	if k.token != "" {
		req.Header.Set("Authorization", "Bearer "+k.token)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("GET %s: cut at %s", k.url, k.timeout)
		}
		return nil, fmt.Errorf("GET %s: %w", k.url, unwrapURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", k.url, resp.Status)
	}
	// The same limit as the snapshot's copy of the summary (kubeletEndpoints).
	lr := &io.LimitedReader{R: resp.Body, N: capMetrics + 1}
	var doc summaryDoc
	if err := json.NewDecoder(lr).Decode(&doc); err != nil {
		switch {
		case lr.N <= 0:
			return nil, fmt.Errorf("GET %s: larger than %d bytes", k.url, capMetrics)
		case ctx.Err() != nil:
			return nil, fmt.Errorf("GET %s: cut at %s", k.url, k.timeout)
		}
		return nil, fmt.Errorf("GET %s: not a stats summary: %v", k.url, err)
	}
	return summaryRows(&doc), nil
}

// unwrapURL drops *url.Error's repetition of the method and URL (as get does).
func unwrapURL(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// summaryRows flattens the summary: the node, then each pod and its
// containers (cells after ts_ms).
func summaryRows(d *summaryDoc) [][][]byte {
	node := []byte(tsvField(d.Node.NodeName))
	var rows [][][]byte
	add := func(m *summaryMemory, ns, pod, uid, ctr string) {
		if m == nil {
			return
		}
		rows = append(rows, [][]byte{statMS(m.Time), node, []byte(tsvField(ns)), []byte(tsvField(pod)),
			[]byte(tsvField(uid)), []byte(tsvField(ctr)), num(m.WorkingSetBytes), num(m.UsageBytes),
			num(m.RSSBytes), num(m.AvailableBytes), nil})
	}
	add(d.Node.Memory, "", "", "", "")
	for _, p := range d.Pods {
		add(p.Memory, p.PodRef.Namespace, p.PodRef.Name, p.PodRef.UID, "")
		for _, c := range p.Containers {
			add(c.Memory, p.PodRef.Namespace, p.PodRef.Name, p.PodRef.UID, c.Name)
		}
	}
	return rows
}

func num(v *uint64) []byte {
	if v == nil {
		return nil
	}
	return strconv.AppendUint(nil, *v, 10)
}

// statMS is the kubelet's own sample time (cAdvisor's, RFC 3339) in ms.
func statMS(s string) []byte {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil
	}
	return strconv.AppendInt(nil, t.UnixMilli(), 10)
}
