// Package cliexit runs a cobra root command and turns its error into the
// process exit code both memsnap commands document: 0 fine, 1 findings (or
// some nodes failed), 2 usage, anything a command chooses through Error.
package cliexit

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Error carries an exit code through cobra. Err, when set, is printed to
// stderr prefixed with the program's name; a nil Err exits quietly (the
// command has already said what it had to).
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Usage is exit code 2 with a message.
func Usage(format string, args ...any) error {
	return &Error{Code: 2, Err: fmt.Errorf(format, args...)}
}

// Run executes root with args and the given streams and returns the exit
// code. root should set SilenceUsage and SilenceErrors: errors are printed
// here, once, as "name: message".
func Run(root *cobra.Command, name string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *Error
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stderr, name+":", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, name+":", err)
	return 2 // cobra's own errors are usage errors
}
