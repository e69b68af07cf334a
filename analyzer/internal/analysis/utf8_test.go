package analysis

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/memsnap/memsnap/report/schema"
)

func TestValidUTF8(t *testing.T) {
	bad := "pod-\xff\xfe-name"
	doc := &schema.Document{
		Findings:  []schema.Finding{{Subject: bad, Evidence: []schema.Evidence{{File: bad, Value: json.Number("12"), Text: bad}}}},
		OOMEvents: []schema.OOMEvent{{Process: bad}},
		Excerpts:  []schema.Excerpt{{Lines: []schema.ExcerptLine{{N: 1, Text: bad}}}},
		Bundles:   []schema.Bundle{{Problems: []string{bad}}},
	}
	validUTF8(reflect.ValueOf(doc))
	for _, s := range []string{doc.Findings[0].Subject, doc.Findings[0].Evidence[0].File, doc.Findings[0].Evidence[0].Text,
		doc.OOMEvents[0].Process, doc.Excerpts[0].Lines[0].Text, doc.Bundles[0].Problems[0]} {
		if !utf8.ValidString(s) || s != "pod-\uFFFD-name" {
			t.Errorf("%q not repaired", s)
		}
	}
	if doc.Findings[0].Evidence[0].Value != "12" {
		t.Errorf("a number was changed")
	}
}
