// Package kube parses what the kubelet and the API server say about a node:
// kubelet/pods.json, kubelet/summary.json, kube/node.json and the
// logs/pods-index.tsv listing. Decoding uses the upstream types (k8s.io/api,
// k8s.io/kubelet); each parser returns a small memsnap view in which an
// absent value is nil, never zero.
package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/memsnap/memsnap/analyzer/internal/units"
)

// MaxJSONBytes bounds every JSON document read from a bundle. A 1,000-pod
// pods.json is ~30 MB; anything past this is hostile or broken.
const MaxJSONBytes = 256 << 20

// DecodeJSON reads at most limit bytes (MaxJSONBytes when limit <= 0) from r
// and unmarshals them into v. Errors name path and, for malformed JSON, the
// byte offset and line ("kubelet/summary.json: invalid JSON at byte 1042
// (line 37): ..."). encoding/json refuses nesting deeper than 10,000 levels
// with a syntax error, so deeply nested input costs neither stack nor time.
func DecodeJSON(r io.Reader, path string, limit int64, v any) error {
	if limit <= 0 {
		limit = MaxJSONBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return fmt.Errorf("%s: read: %w", path, err)
	}
	if int64(len(data)) > limit {
		return fmt.Errorf("%s: larger than %d bytes, not parsed", path, limit)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%s: empty file", path)
	}
	if bad, ok := units.HugeExponent(data); ok {
		return fmt.Errorf("%s: holds the number %q, whose exponent would make Kubernetes' quantity parser run without bound; not parsed", path, bad)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return jsonError(path, data, err)
	}
	return nil
}

func jsonError(path string, data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("%s: invalid JSON at byte %d (line %d): %w", path, syn.Offset, lineAt(data, syn.Offset), err)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Errorf("%s: unexpected %s for field %q at byte %d (line %d): %w",
			path, typ.Value, typ.Field, typ.Offset, lineAt(data, typ.Offset), err)
	}
	// Errors from UnmarshalJSON methods (a bad quantity, a bad time) carry no
	// offset in encoding/json.
	return fmt.Errorf("%s: %w", path, err)
}

func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}
