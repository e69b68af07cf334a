package cliexit

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spf13/cobra"
)

func TestRunExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		args   []string
		code   int
		stderr string
	}{
		{"ok", nil, nil, 0, ""},
		{"usage", Usage("bad %s", "flag"), nil, 2, "prog: bad flag\n"},
		{"quiet findings", &Error{Code: 1}, nil, 1, ""},
		{"some failed", &Error{Code: 1, Err: errors.New("2 of 3 nodes failed")}, nil, 1, "prog: 2 of 3 nodes failed\n"},
		{"plain error", errors.New("boom"), nil, 2, "prog: boom\n"},
		{"wrapped", &Error{Code: 3, Err: errors.New("none")}, nil, 3, "prog: none\n"},
		{"cobra's unknown flag", nil, []string{"--nope"}, 2, "prog: unknown flag: --nope\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := &cobra.Command{Use: "prog", SilenceUsage: true, SilenceErrors: true,
				RunE: func(*cobra.Command, []string) error { return tc.err }}
			var out, errb bytes.Buffer
			code := Run(root, "prog", tc.args, nil, &out, &errb)
			if code != tc.code || errb.String() != tc.stderr {
				t.Errorf("exit %d stderr %q, want %d %q", code, errb.String(), tc.code, tc.stderr)
			}
		})
	}
}
