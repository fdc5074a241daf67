package vaulttest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Policy is a Vault ACL policy: path patterns and the capabilities each grants, as in the HCL
// stanza `path "transit/encrypt/k" { capabilities = ["update"] }` (Vault docs, concepts/policies).
// A pattern ending in "*" matches every path with that prefix; "+" matches one path segment.
// When several patterns match, the most specific one decides: an exact pattern, else the
// longest. A nil Policy is the root policy, which allows everything.
type Policy map[string][]string

// stanzaRE matches one path stanza of an HCL policy, in the only shape ParsePolicy accepts.
var stanzaRE = regexp.MustCompile(`path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}`)

// capabilityRE matches one quoted capability in a capabilities list.
var capabilityRE = regexp.MustCompile(`"([a-z]+)"`)

// ParsePolicy reads the path stanzas of an HCL policy: `path "<pattern>" { capabilities =
// ["...", ...] }`, nothing else. Text between stanzas other than whitespace and #-comments is
// an error, so a stanza in another shape is not silently skipped.
func ParsePolicy(hcl string) (Policy, error) {
	p := Policy{}
	rest := hcl
	for _, m := range stanzaRE.FindAllStringSubmatchIndex(hcl, -1) {
		if junk := stripComments(hcl[len(hcl)-len(rest) : m[0]]); junk != "" {
			return nil, fmt.Errorf("vaulttest: policy: unexpected %q", junk)
		}
		rest = hcl[m[1]:]
		path := hcl[m[2]:m[3]]
		var caps []string
		for _, c := range capabilityRE.FindAllStringSubmatch(hcl[m[4]:m[5]], -1) {
			caps = append(caps, c[1])
		}
		p[path] = append(p[path], caps...)
	}
	if junk := stripComments(rest); junk != "" {
		return nil, fmt.Errorf("vaulttest: policy: unexpected %q", junk)
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("vaulttest: policy: no path stanzas")
	}
	return p, nil
}

// stripComments removes #-comments and whitespace.
func stripComments(s string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return strings.Join(out, " ")
}

// allows reports whether the policy grants capability on path (no leading slash, no "v1/").
func (p Policy) allows(path, capability string) bool {
	if p == nil {
		return true
	}
	best, bestLen, exact := "", -1, false
	for pattern := range p {
		if pattern == path {
			best, exact = pattern, true
			break
		}
		if matches(pattern, path) && len(pattern) > bestLen {
			best, bestLen = pattern, len(pattern)
		}
	}
	if !exact && bestLen < 0 {
		return false
	}
	caps := p[best]
	return !slices.Contains(caps, "deny") && slices.Contains(caps, capability)
}

// matches reports whether a pattern with "+" segments and an optional trailing "*" matches path.
func matches(pattern, path string) bool {
	prefix := strings.HasSuffix(pattern, "*")
	pattern = strings.TrimSuffix(pattern, "*")
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(xs) < len(ps) || (!prefix && len(xs) != len(ps)) {
		return false
	}
	for i, seg := range ps {
		last := i == len(ps)-1
		switch {
		case seg == "+":
		case last && prefix:
			return strings.HasPrefix(strings.Join(xs[i:], "/"), seg)
		case seg != xs[i]:
			return false
		}
	}
	return true
}
