package report

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/memsnap/memsnap/report/schema"
)

// sarifLevel maps memsnap severities to SARIF 2.1.0 result levels (§3.27.10).
var sarifLevel = map[string]string{
	schema.Critical: "error",
	schema.Warning:  "warning",
	schema.Info:     "note",
}

// renderSARIF writes one SARIF 2.1.0 log with one run: every rule the
// document mentions is a reportingDescriptor, every finding a result whose
// locations are the bundle files of its evidence. Each bundle is a uriBaseId
// ("BUNDLE0", …) described by its source, so paths stay bundle-relative.
// Suppressed findings stay in the log with an external suppression carrying
// the --config reason (§3.35), which SARIF viewers show as suppressed.
func renderSARIF(w io.Writer, doc *schema.Document, opts Options) error {
	log, err := sarif.New(sarif.Version210)
	if err != nil {
		return err
	}
	driver := &sarif.ToolComponent{
		Name:           "memsnap",
		InformationURI: ptr("https://github.com/memsnap/memsnap"),
		Rules:          []*sarif.ReportingDescriptor{},
	}
	if doc.MemsnapVersion != "" {
		driver.Version = ptr(doc.MemsnapVersion)
	}
	run := sarif.NewRun(sarif.Tool{Driver: driver})

	ruleIndex := map[string]uint{}
	for _, id := range ruleIDs(doc) {
		ruleIndex[id] = uint(len(driver.Rules))
		driver.Rules = append(driver.Rules, sarifRule(doc, id))
	}

	bases := map[string]*sarif.ArtifactLocation{}
	for _, b := range doc.Bundles {
		bases[bundleBase(b.Index)] = &sarif.ArtifactLocation{
			Description: &sarif.Message{Text: ptr(fmt.Sprintf("bundle %d (node %s): %s", b.Index, b.Node, b.Source))},
		}
	}
	if len(bases) > 0 {
		run.OriginalUriBaseIDs = bases
	}

	for _, f := range doc.Findings {
		run.AddResult(sarifResult(f, ruleIndex[f.Rule]))
	}

	ok := true
	inv := &sarif.Invocation{ExecutionSuccessful: &ok}
	for _, b := range doc.Bundles {
		for _, p := range b.Problems {
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, &sarif.Notification{
				Level:   "warning",
				Message: &sarif.Message{Text: ptr(fmt.Sprintf("%s: %s", bundleName(b), p))},
			})
		}
	}
	if g := generated(doc, opts); g != "" {
		inv.PropertyBag.Properties = sarif.Properties{"generated": g}
	}
	run.Invocations = []*sarif.Invocation{inv}
	log.AddRun(run)

	out, err := json.MarshalIndent(log, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(out, '\n'))
	return err
}

func sarifRule(doc *schema.Document, id string) *sarif.ReportingDescriptor {
	rule := sarif.NewRule(id)
	short, full := id, ""
	if rd, ok := ruleDoc(doc, id); ok {
		if rd.Title != "" {
			short = rd.Title
		}
		full = rd.Doc
		if level := sarifLevel[rd.Severity]; level != "" {
			rule.DefaultConfiguration = &sarif.ReportingConfiguration{Level: level}
		}
	} else {
		// Without a catalogue, the first finding's title describes the rule.
		for _, f := range doc.Findings {
			if f.Rule == id && f.Title != "" {
				short = f.Title
				break
			}
		}
	}
	rule.Name = ptr(id)
	rule.ShortDescription = &sarif.MultiformatMessageString{Text: ptr(short)}
	if full != "" {
		rule.FullDescription = &sarif.MultiformatMessageString{Text: ptr(full)}
		rule.Help = &sarif.MultiformatMessageString{Text: ptr(full)}
	}
	return rule
}

func sarifResult(f schema.Finding, ruleIndex uint) *sarif.Result {
	level := sarifLevel[f.Severity]
	if level == "" {
		level = "none"
	}
	text := f.Summary
	if text == "" {
		text = f.Title
	}
	if text == "" {
		text = f.Rule + ": " + findingSubject(f)
	}
	if f.Remediation != "" {
		text += " Fix: " + f.Remediation
	}
	r := &sarif.Result{
		RuleID:    ptr(f.Rule),
		RuleIndex: &ruleIndex,
		Level:     &level,
		Kind:      ptr("fail"),
		Message:   sarif.Message{Text: &text},
	}
	subject := findingSubject(f)
	logical := &sarif.LogicalLocation{
		Name:               ptr(subject),
		FullyQualifiedName: ptr(f.Node + "/" + subject),
		Kind:               ptr("object"),
	}
	seen := map[string]bool{}
	for _, e := range f.Evidence {
		loc := &sarif.Location{
			PhysicalLocation: &sarif.PhysicalLocation{ArtifactLocation: &sarif.ArtifactLocation{
				URI:       ptr(bundleURI(e.File)),
				URIBaseId: ptr(bundleBase(f.Bundle)),
			}},
			LogicalLocations: []*sarif.LogicalLocation{logical},
		}
		if n, ok := evidenceLineNumber(e.Key); ok {
			loc.PhysicalLocation.Region = &sarif.Region{StartLine: &n}
		}
		if msg := evidenceLine(e); msg != "" {
			loc.Message = &sarif.Message{Text: ptr(msg)}
		}
		key := *loc.PhysicalLocation.ArtifactLocation.URI + "\x00" + e.Key
		if seen[key] {
			continue
		}
		seen[key] = true
		r.Locations = append(r.Locations, loc)
	}
	if len(r.Locations) == 0 {
		r.Locations = []*sarif.Location{{LogicalLocations: []*sarif.LogicalLocation{logical}}}
	}
	// A stable identity across runs lets code-scanning UIs track a finding.
	r.PartialFingerprints = map[string]interface{}{
		"memsnapFinding/v1": fingerprint(f.Rule, f.Node, subject),
	}
	props := sarif.Properties{"node": f.Node, "bundle": f.Bundle, "severity": f.Severity}
	if f.Title != "" {
		props["title"] = f.Title
	}
	if len(f.References) > 0 {
		props["references"] = f.References
	}
	r.PropertyBag.Properties = props
	if f.Suppressed != nil {
		r.Suppressions = []*sarif.Suppression{{
			Kind:          "external",
			Status:        ptr("accepted"),
			Location:      r.Locations[0],
			Guid:          ptr(guid(f.Rule, f.Node, subject, f.Suppressed.Reason)),
			Justification: ptr(f.Suppressed.Reason),
		}}
	}
	return r
}

// bundleBase is the uriBaseId of bundle i.
func bundleBase(i int) string { return "BUNDLE" + strconv.Itoa(i) }

// bundleURI turns a bundle path into a relative URI reference: percent-
// encoded (bundle paths may hold spaces, '#', '?', or worse) and never
// absolute, since SARIF resolves it against the bundle's uriBaseId.
func bundleURI(path string) string {
	path = strings.TrimLeft(path, "/")
	u := (&url.URL{Path: path}).EscapedPath()
	// A first segment with ':' would read as a scheme; "./" keeps it a path.
	if i := strings.IndexByte(u, ':'); i >= 0 && !strings.Contains(u[:i], "/") {
		u = "./" + u
	}
	return u
}

// evidenceLineNumber reads the line number from an evidence key "line 1042".
func evidenceLineNumber(key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, "line ")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(rest))
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

func fingerprint(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return fmt.Sprintf("%x", h[:16])
}

// guid is a deterministic RFC 4122 version-5-shaped GUID from parts; SARIF
// requires the GUID form, and output must be byte-stable.
func guid(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func ptr[T any](v T) *T { return &v }
