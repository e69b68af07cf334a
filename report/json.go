package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"

	"github.com/memsnap/memsnap/report/schema"
)

// renderJSON writes the Document itself (schema memsnap-report/v1), indented,
// with the canonical list order and Generated filled from the injected clock.
//
// It is written as a stream, one list element at a time: encoding/json's
// Encoder builds the whole encoding in memory and then an indented copy of
// it, which for 100 nodes of 250 pods is two buffers of ~120 MB on top of the
// document. The bytes are the same as json.Encoder with SetIndent("", "  ")
// (TestStreamedJSONMatchesEncoder and the goldens check it).
func renderJSON(w io.Writer, doc *schema.Document, opts Options) error {
	d := *doc
	if d.Schema == "" {
		d.Schema = schema.ID
	}
	d.Generated = generated(doc, opts)
	return streamJSON(w, &d)
}

// streamJSON writes v, a pointer to a struct, as Encoder.Encode with a
// two-space indent would. Struct fields with anything but a plain json tag
// (embedded fields, ",string") are not expected in schema.Document; if one
// appears the whole value goes through the Encoder instead.
func streamJSON(w io.Writer, v any) error {
	rv := reflect.ValueOf(v).Elem()
	fields, ok := plainFields(rv.Type())
	if !ok {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var buf bytes.Buffer
	// indented appends x's encoding, indented as at prefix.
	indented := func(x reflect.Value, prefix string) error {
		if x.CanAddr() {
			x = x.Addr() // pointer-receiver MarshalJSON methods, as the Encoder sees them
		}
		raw, err := json.Marshal(x.Interface())
		if err != nil {
			return err
		}
		buf.Reset()
		if err := json.Indent(&buf, raw, prefix, "  "); err != nil {
			return err
		}
		_, err = bw.Write(buf.Bytes())
		return err
	}
	first := true
	bw.WriteString("{")
	for _, f := range fields {
		fv := rv.Field(f.index)
		if f.omitEmpty && emptyJSON(fv) {
			continue
		}
		if !first {
			bw.WriteString(",")
		}
		first = false
		name, _ := json.Marshal(f.name)
		bw.WriteString("\n  ")
		bw.Write(name)
		bw.WriteString(": ")
		if fv.Kind() != reflect.Slice || fv.IsNil() || fv.Len() == 0 || fv.Type().Elem().Kind() == reflect.Uint8 {
			if err := indented(fv, "  "); err != nil {
				return err
			}
			continue
		}
		bw.WriteString("[")
		for i := range fv.Len() {
			if i > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n    ")
			if err := indented(fv.Index(i), "    "); err != nil {
				return err
			}
		}
		bw.WriteString("\n  ]")
	}
	if first {
		bw.WriteString("}\n")
	} else {
		bw.WriteString("\n}\n")
	}
	return bw.Flush()
}

type plainField struct {
	index     int
	name      string
	omitEmpty bool
}

// plainFields lists t's exported fields as encoding/json names them, or
// false when one needs more of encoding/json's rules than a name and
// omitempty.
func plainFields(t reflect.Type) ([]plainField, bool) {
	var out []plainField
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil, false
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := plainField{index: i, name: name}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "":
			case "omitempty":
				f.omitEmpty = true
			default:
				return nil, false
			}
		}
		switch {
		case f.name == "":
			f.name = sf.Name
		case !validTagName(f.name):
			return nil, false
		}
		out = append(out, f)
	}
	return out, true
}

// validTagName: only the plain names schema uses are taken here; anything
// else (which encoding/json may or may not accept) falls back.
func validTagName(s string) bool {
	for _, c := range s {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// emptyJSON is encoding/json's omitempty test.
func emptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
