package testbed

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"time"
)

// The bed fetches no image: its images are built here from static Go
// binaries, written in the docker-archive format that `docker save` makes
// and `ctr images import` reads (the "Combined Image JSON + Filesystem
// Changeset Format", docker image spec v1.2: manifest.json listing a
// config blob and layer tars), with one layer.

// ImageFile is one file of an image's single layer.
type ImageFile struct {
	Path string // absolute path in the image, e.g. /bin/workload
	Src  string // file on the host to copy
	Mode int64
}

// Image describes an image to build.
type Image struct {
	Ref        string // repository:tag, e.g. memsnap-e2e/tools:1
	Files      []ImageFile
	Entrypoint []string
}

// writeImageArchive writes img as a docker-archive tar to dst.
func writeImageArchive(dst string, img Image) error {
	layer, diffID, err := layerTar(img.Files)
	if err != nil {
		return fmt.Errorf("image %s: %w", img.Ref, err)
	}
	created := time.Unix(0, 0).UTC()
	cfg := map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      created,
		"config":       map[string]any{"Entrypoint": img.Entrypoint, "Env": []string{"PATH=/bin"}, "WorkingDir": "/"},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + diffID}},
		"history":      []map[string]any{{"created": created, "created_by": "memsnap e2e testbed"}},
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	cfgSum := sha256.Sum256(cfgJSON)
	cfgName := hex.EncodeToString(cfgSum[:]) + ".json"
	layerName := diffID + "/layer.tar"
	manifest, err := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{img.Ref}, "Layers": []string{layerName}}})
	if err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, e := range []struct {
		name string
		data []byte
	}{{cfgName, cfgJSON}, {layerName, layer}, {"manifest.json", manifest}} {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), ModTime: created, Typeflag: tar.TypeReg}); err != nil {
			f.Close()
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			f.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// layerTar is the layer's uncompressed tar and its sha256 (the diff ID),
// with the parent directories of every file.
func layerTar(files []ImageFile) ([]byte, string, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	epoch := time.Unix(0, 0)
	for _, d := range []string{"tmp", "dev", "proc", "sys", "etc"} {
		dirs[d] = true
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: epoch}); err != nil {
			return nil, "", err
		}
	}
	for _, file := range files {
		rel := path.Clean(file.Path)[1:]
		var missing []string // deepest first
		for d := path.Dir(rel); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			missing = append(missing, d)
		}
		for _, d := range slices.Backward(missing) {
			if err := tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: epoch}); err != nil {
				return nil, "", err
			}
		}
		src, err := os.Open(file.Src)
		if err != nil {
			return nil, "", err
		}
		st, err := src.Stat()
		if err != nil {
			src.Close()
			return nil, "", err
		}
		mode := file.Mode
		if mode == 0 {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: mode, Size: st.Size(), Typeflag: tar.TypeReg, ModTime: epoch}); err != nil {
			src.Close()
			return nil, "", err
		}
		_, err = io.Copy(tw, src)
		src.Close()
		if err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:]), nil
}
