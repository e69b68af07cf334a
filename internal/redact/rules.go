// Package redact removes secrets from what the collector copies off a node
// (DESIGN §6): bearer tokens, token/password-like argv values and env, keys
// in kubeconfigs, credentials in URLs. It works on a stream, one line at a
// time, and replaces only the secret span, so the rest of a file (a pod
// spec, a kubelet flag list) stays readable and in the same format.
package redact

import (
	"regexp"
	"strings"
)

// Replacement is what a secret span becomes. It matches none of the rules,
// so redacting twice changes nothing.
const Replacement = "REDACTED"

// rule finds secrets in one line. Every named group "v" in re is a value to
// replace; a group "k", when present, is the key the value belongs to, and
// keys naming a file, path or directory are left alone (--token-file=/path
// is evidence, not a secret). triggers are lower-case substrings one of
// which must occur in the line before the regexp is tried: the collector
// pipes 40 MB of metrics through here, and most lines trigger nothing.
type rule struct {
	name     string
	re       *regexp.Regexp
	triggers []string
}

// secretWord is a key fragment that marks its value as secret.
const secretWord = `(?:token|password|passwd|secret|key-data|key_data|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth[_-]?key)`

// value is a quoted or bare value; only its inside is replaced so quoting,
// JSON and Prometheus syntax survive.
const value = `(?:"(?P<v>[^"]*)"|'(?P<v>[^']*)'|(?P<v>[^\s"',;}\]]+))`

// secretTriggers covers every alternative of secretWord.
var secretTriggers = []string{"token", "passw", "secret", "key", "credential"}

var rules = []rule{
	{
		// "Authorization: Bearer <token>" in logs, curl lines, configs.
		name:     "bearer-token",
		re:       regexp.MustCompile(`(?i)\bbearer\s+(?P<v>[A-Za-z0-9\-._~+/]+=*)`),
		triggers: []string{"bearer"},
	},
	{
		// Service-account and OIDC tokens are JWTs: three base64url parts,
		// the first two JSON objects, hence "eyJ".
		name:     "jwt",
		re:       regexp.MustCompile(`(?P<v>\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)`),
		triggers: []string{"eyj"},
	},
	{
		// user:password@host in URLs (registries, proxies, --pprof targets).
		name:     "url-credentials",
		re:       regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@"']+:(?P<v>[^/\s@"']+)@`),
		triggers: []string{"://"},
	},
	{
		// PEM private keys written on one line (JSON strings with \n).
		name:     "private-key",
		re:       regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----(?P<v>.*?)-----END`),
		triggers: []string{"private key"},
	},
	{
		// --token=x, --password x, -client-secret=x on one line (argv is
		// also handled across separate arguments, see Reader).
		name:     "flag-secret",
		re:       regexp.MustCompile(`(?i)(?:^|[\s"'])--?(?P<k>[a-z0-9._-]*` + secretWord + `[a-z0-9._-]*)(?:=|\s+)` + value),
		triggers: secretTriggers,
	},
	{
		// Kubernetes env entries: {"name":"DB_PASSWORD","value":"..."}.
		name:     "pod-env-secret",
		re:       regexp.MustCompile(`(?i)"name"\s*:\s*"(?P<k>[^"]*` + secretWord + `[^"]*)"\s*,\s*"value"\s*:\s*"(?P<v>(?:[^"\\]|\\.)*)"`),
		triggers: secretTriggers,
	},
	{
		// JSON members: "token": "x", "client-key-data": "x".
		name:     "json-secret",
		re:       regexp.MustCompile(`(?i)"(?P<k>[^"]*` + secretWord + `[^"]*)"\s*:\s*"(?P<v>(?:[^"\\]|\\.)*)"`),
		triggers: secretTriggers,
	},
	{
		// YAML and INI lines: "token: x", "client-key-data: x", "password = x".
		name:     "yaml-secret",
		re:       regexp.MustCompile(`(?i)^\s*(?:-\s+)?["']?(?P<k>[a-z0-9_.-]*` + secretWord + `[a-z0-9_.-]*)["']?\s*(?::\s+|\s*=\s*)` + value),
		triggers: secretTriggers,
	},
	{
		// Environment assignments: DB_PASSWORD=x, Environment="API_KEY=x",
		// cAdvisor's container_env_aws_secret_access_key="x" labels.
		name:     "env-secret",
		re:       regexp.MustCompile(`(?i)(?:^|[^A-Za-z0-9_-])(?P<k>[A-Z0-9_]*` + strings.ReplaceAll(secretWord, "-", "_") + `[A-Z0-9_]*)=` + value),
		triggers: secretTriggers,
	},
	{
		name:     "aws-access-key",
		re:       regexp.MustCompile(`\b(?P<v>(?:AKIA|ASIA)[0-9A-Z]{16})\b`),
		triggers: []string{"akia", "asia"},
	},
	{
		name:     "github-token",
		re:       regexp.MustCompile(`\b(?P<v>gh[pousr]_[A-Za-z0-9]{36,})\b`),
		triggers: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"},
	},
	{
		name:     "slack-token",
		re:       regexp.MustCompile(`\b(?P<v>xox[abprs]-[A-Za-z0-9-]{10,})`),
		triggers: []string{"xox"},
	},
}

// Rules lists the rule names, for --help and documentation.
func Rules() []string {
	out := make([]string, 0, len(rules)+2)
	for _, r := range rules {
		out = append(out, r.name)
	}
	return append(out, "flag-secret-argument", "private-key-block")
}

// harmlessKey reports keys whose values point at secrets instead of being
// them (tokenFile, --token-file, tlsPrivateKeyFile) or are not secrets at
// all (an "secretName" in a pod spec names a Secret object).
func harmlessKey(k string) bool {
	k = strings.ToLower(k)
	for _, suffix := range []string{"file", "path", "dir", "ttl", "name", "ref", "secretname", "keys"} {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}

// bareSecretFlag matches an argument that is only a secret flag's name, so
// the next argument is its value ("--token" "abc").
var bareSecretFlag = regexp.MustCompile(`(?i)^--?(?P<k>[a-z0-9._-]*` + secretWord + `[a-z0-9._-]*)$`)

var (
	pemBegin = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)
	pemEnd   = "-----END"
)
