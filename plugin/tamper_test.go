package plugin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
)

// tamper flips the first content byte of the first non-manifest entry of a
// tar.gz, keeping its manifest, so the sha256 no longer matches.
func tamper(tgz []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		panic(err)
	}
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	done := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(tr)
		if !done && h.Name != "manifest.json" && len(b) > 0 {
			b[0] ^= 0x20
			done = true
		}
		tw.WriteHeader(h)
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	return out.Bytes()
}
