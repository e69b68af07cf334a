package oomlog

import (
	"strings"
)

// Kernel logs rarely reach support as the file the node wrote: they are pasted
// into mail (quoted with "> ", nested when replied to), into tickets and chat
// (indented, fenced as markdown), with the shell prompt that produced them, and
// hard-wrapped by the mail client or the terminal. This file undoes that
// dressing line by line, so the parser sees the kernel's own lines.

// unquote strips leading blanks and mail quote markers (">", "> > ", ">>")
// and returns the rest with the width of what was stripped. Quote markers are
// only taken at the start of the line, after optional blanks, so a kernel
// message holding ">" elsewhere is left alone.
func unquote(s string) (string, int) {
	i := 0
	for i < len(s) {
		switch s[i] {
		case ' ', '\t':
			i++
		case '>':
			i++
		default:
			return s[i:], i
		}
	}
	return "", i
}

// isFence is a markdown code fence line (``` or ~~~, with an optional
// language): it delimits a paste, it is never a kernel line.
func isFence(s string) bool {
	return strings.HasPrefix(s, "```") || strings.HasPrefix(s, "~~~")
}

// isPrompt is a shell prompt line a customer pasted with the log:
// "$ dmesg -T", "# journalctl -k", "[root@node-1 ~]# dmesg",
// "user@host:~$ dmesg | grep oom". Such a line may quote the very phrases
// the parser looks for (grep "invoked oom-killer"), so it must not reach it.
func isPrompt(s string) bool {
	if strings.HasPrefix(s, "$ ") || strings.HasPrefix(s, "# ") || strings.HasPrefix(s, "% ") {
		return true
	}
	if strings.HasPrefix(s, "[") {
		// "[root@host ~]# cmd" / "[user@host dir]$ cmd"
		end := strings.IndexByte(s, ']')
		if end > 0 && end < 128 && strings.Contains(s[:end], "@") && end+2 < len(s) &&
			(s[end+1] == '#' || s[end+1] == '$') && s[end+2] == ' ' {
			return true
		}
		return false
	}
	// "user@host:~$ cmd", "root@host:/# cmd"
	tok, _, ok := strings.Cut(s, " ")
	if !ok || len(tok) < 4 || len(tok) > 128 {
		return false
	}
	last := tok[len(tok)-1]
	return (last == '$' || last == '#') && strings.Contains(tok, "@") && strings.Contains(tok, ":")
}

// wrapWidth is the physical line length from which a wrapped continuation is
// taken to have been cut mid-token by a fixed-width terminal or ticket system
// (seed 003's paste is cut at ~200 columns in the middle of a container ID);
// shorter lines were wrapped at a blank by a mail client, which ate the blank.
const wrapWidth = 150

// isContinuation says whether line (already unquoted) continues the previous
// stamped line that was hard-wrapped: it carries no prefix of its own, is
// plain printable ASCII (prose written around a paste, in any script, is not
// glued to a kernel line) and does not start a task-table row.
func isContinuation(line string) bool {
	if line == "" || line[0] == '[' {
		return false
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// joinWrapped glues a continuation onto the message it continues.
func joinWrapped(prev string, prevRawLen int, cont string) string {
	if prev == "" {
		return cont
	}
	if prevRawLen >= wrapWidth && !strings.HasSuffix(prev, " ") {
		return prev + cont
	}
	return strings.TrimRight(prev, " ") + " " + cont
}
