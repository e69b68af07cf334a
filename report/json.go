package report

import (
	"encoding/json"
	"io"

	"github.com/memsnap/memsnap/report/schema"
)

// renderJSON writes the Document itself (schema memsnap-report/v1), indented,
// with the canonical list order and Generated filled from the injected clock.
func renderJSON(w io.Writer, doc *schema.Document, opts Options) error {
	d := *doc
	if d.Schema == "" {
		d.Schema = schema.ID
	}
	d.Generated = generated(doc, opts)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&d)
}
