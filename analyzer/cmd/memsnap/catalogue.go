package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/memsnap/memsnap/analyzer/rules"
	"github.com/memsnap/memsnap/bundle"
	"github.com/memsnap/memsnap/internal/cliexit"
)

func newRules(st Streams) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List the rule catalogue, from the rules' own docs",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			switch format {
			case "text":
				w := 0 // the longest ID sets the column, so every title lines up
				for _, r := range rules.All {
					w = max(w, len(r.ID))
				}
				for _, r := range rules.All {
					fmt.Fprintf(st.Stdout, "%-*s %-8s %s\n", w, r.ID, r.Severity, r.Title())
				}
			case "json":
				type entry struct {
					ID       string   `json:"id"`
					Title    string   `json:"title"`
					Severity string   `json:"severity"`
					Needs    []string `json:"needs"`
					Doc      string   `json:"doc"`
				}
				var out []entry
				for _, r := range rules.All {
					e := entry{ID: r.ID, Title: r.Title(), Severity: r.Severity, Doc: r.Doc, Needs: []string{}}
					for _, d := range r.Needs {
						e.Needs = append(e.Needs, string(d))
					}
					out = append(out, e)
				}
				enc := json.NewEncoder(st.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			case "markdown":
				_, err := st.Stdout.Write([]byte(rules.Markdown(rules.All)))
				return err
			default:
				return cliexit.Usage("unknown --format %q (want text, json or markdown)", format)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text | json | markdown")
	return cmd
}

func newExplain(st Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "explain RULE-ID",
		Short: "Print one rule's documentation",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			r := rules.ByID(args[0])
			if r == nil {
				var ids []string
				for _, r := range rules.All {
					ids = append(ids, r.ID)
				}
				return cliexit.Usage("no rule %q (known: %s)", args[0], strings.Join(ids, ", "))
			}
			fmt.Fprintf(st.Stdout, "%s (%s)\n\n%s\n", r.ID, r.Severity, strings.TrimSpace(r.Doc))
			return nil
		},
	}
}

func newInspect(ctx context.Context, st Streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect BUNDLE",
		Short: "Show a bundle's inventory: sources, files, sizes, sha256 check, redactions",
		Long: `Show what a bundle holds before you send it: the collector's sources and their status, every
file with its size and sha256 checked against the manifest, and what was redacted. Bundles
carry node names, pod names, command lines and function names: review them here.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			b, err := bundle.Open(ctx, args[0], withStdin(bundle.DefaultOptions(), st))
			if err != nil {
				return &cliexit.Error{Code: 2, Err: fmt.Errorf("%s: %w", args[0], err)}
			}
			defer b.Close()
			inv := bundle.Inspect(b)
			if asJSON {
				enc := json.NewEncoder(st.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(inv)
			}
			return inv.WriteText(st.Stdout)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the inventory as JSON")
	return cmd
}

func withStdin(o bundle.Options, st Streams) bundle.Options {
	o.Stdin = st.Stdin
	return o
}
