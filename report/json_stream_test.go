package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/memsnap/memsnap/report/schema"
)

func encoderJSON(t *testing.T, v any) []byte {
	t.Helper()
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return want.Bytes()
}

// The streamed document must be byte for byte what json.Encoder writes:
// empty and nil lists, omitted Catalog, HTML-escaped strings, nested lists.
func TestStreamedJSONMatchesEncoder(t *testing.T) {
	docs := []*schema.Document{
		{},
		{Schema: schema.ID, Generated: "2026-11-23T10:00:00Z", Bundles: []schema.Bundle{}, Findings: nil},
		{
			Schema:   "<script>&",
			Bundles:  []schema.Bundle{{Index: 0, Source: "a<b>.tar.gz", Problems: []string{"x\u2028y", "é"}}, {Index: 1}},
			Rules:    []schema.RuleStatus{{ID: "r", Status: "ran"}},
			Findings: []schema.Finding{{Rule: "r", Subject: "ns/pod", Evidence: []schema.Evidence{}, References: []string{"https://e/?a=1&b=2"}}},
			Catalog:  []schema.RuleDoc{{ID: "r", Title: "T", Doc: "line\nline"}},
		},
	}
	for i, d := range docs {
		var got bytes.Buffer
		if err := streamJSON(&got, d); err != nil {
			t.Fatal(err)
		}
		if want := encoderJSON(t, d); !bytes.Equal(got.Bytes(), want) {
			t.Errorf("doc %d: streamed\n%s\nencoder\n%s", i, got.Bytes(), want)
		}
	}
}

// A struct streamJSON cannot take field by field goes through the Encoder.
func TestStreamedJSONFallsBack(t *testing.T) {
	type inner struct{ A []int }
	type odd struct {
		inner
		N int `json:"n,string"`
	}
	v := &odd{inner: inner{A: []int{1, 2}}, N: 3}
	var got bytes.Buffer
	if err := streamJSON(&got, v); err != nil {
		t.Fatal(err)
	}
	if want := encoderJSON(t, v); !bytes.Equal(got.Bytes(), want) {
		t.Errorf("streamed\n%s\nencoder\n%s", got.Bytes(), want)
	}
}
