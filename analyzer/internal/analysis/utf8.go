package analysis

import (
	"reflect"
	"strings"
	"unicode/utf8"
)

// validUTF8 replaces invalid UTF-8 in every string of the document with
// U+FFFD. Bundle bytes (file names, log lines, function names) may be
// anything; the report's formats (JSON, HTML, SARIF, JUnit XML) all require
// valid text, so it is made valid once, here, for every renderer.
func validUTF8(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			validUTF8(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				validUTF8(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			validUTF8(v.Index(i))
		}
	case reflect.String:
		if s := v.String(); !utf8.ValidString(s) && v.CanSet() {
			v.SetString(strings.ToValidUTF8(s, "\uFFFD"))
		}
	}
}
