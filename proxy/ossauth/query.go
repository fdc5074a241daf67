package ossauth

import (
	"sort"
	"strings"

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// writeSorted writes params sorted by key, then value, as
// "k1=v1&k2&k3=v3": a parameter with an empty value is its name alone, as
// in both OSS canonical forms.
func writeSorted(b *strings.Builder, params []sigio.Param) {
	sort.Slice(params, func(i, j int) bool {
		if params[i].Key != params[j].Key {
			return params[i].Key < params[j].Key
		}
		return params[i].Value < params[j].Value
	})
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.Key)
		if p.Value != "" {
			b.WriteByte('=')
			b.WriteString(p.Value)
		}
	}
}
