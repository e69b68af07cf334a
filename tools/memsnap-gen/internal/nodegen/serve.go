package nodegen

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
)

// KubeletHandler serves the kubelet answers of a host tree (dir/kubelet) by
// URL path: /stats/summary, /pods, /configz, /metrics/cadvisor,
// /metrics/resource, /debug/pprof/heap and /agents/<name>/debug/pprof/heap. Query strings
// (?gc=1) are ignored. Files are opened through os.Root, so no request
// leaves the directory.
func KubeletHandler(dir string) (http.Handler, io.Closer, error) {
	root, err := os.OpenRoot(path.Join(dir, KubeletDir))
	if err != nil {
		return nil, nil, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		f, err := root.Open(name)
		if err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, fs.ErrNotExist) {
				code = http.StatusNotFound
			}
			http.Error(w, err.Error(), code)
			return
		}
		defer f.Close()
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			http.Error(w, "not a file", http.StatusNotFound)
			return
		}
		ctype := "text/plain; version=0.0.4"
		if strings.HasSuffix(name, "/heap") {
			ctype = "application/octet-stream"
		} else if !strings.HasPrefix(name, "metrics/") {
			ctype = "application/json"
		}
		w.Header().Set("Content-Type", ctype)
		io.Copy(w, f)
	})
	return h, root, nil
}
