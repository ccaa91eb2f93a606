package double

import (
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Property helpers. Resources see their inputs and state with secrets unwrapped (Unsecret); the
// server re-wraps, on the way out, every top-level property that came in secret.

// Unsecret returns v with every secret (and known output value) replaced by its element, deeply.
// Unknowns are kept.
func Unsecret(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return Unsecret(v.SecretValue().Element)
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return resource.MakeComputed(resource.NewStringProperty(""))
		}
		return Unsecret(o.Element)
	case v.IsArray():
		in := v.ArrayValue()
		out := make([]resource.PropertyValue, len(in))
		for i, e := range in {
			out[i] = Unsecret(e)
		}
		return resource.NewArrayProperty(out)
	case v.IsObject():
		return resource.NewObjectProperty(UnsecretMap(v.ObjectValue()))
	}
	return v
}

// UnsecretMap applies Unsecret to every value of m (a new map; nil stays empty).
func UnsecretMap(m resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range m {
		out[k] = Unsecret(v)
	}
	return out
}

// SecretKeys lists the top-level keys of m whose value is or contains a secret.
func SecretKeys(ms ...resource.PropertyMap) map[resource.PropertyKey]bool {
	keys := map[resource.PropertyKey]bool{}
	for _, m := range ms {
		for k, v := range m {
			if v.ContainsSecrets() {
				keys[k] = true
			}
		}
	}
	return keys
}

// Rewrap marks the listed top-level keys of m secret (unless null, or already secret).
func Rewrap(m resource.PropertyMap, keys map[resource.PropertyKey]bool) {
	for k := range keys {
		if v, ok := m[k]; ok && !v.IsNull() && !v.IsSecret() {
			m[k] = resource.MakeSecret(v)
		}
	}
}

// Known reports whether m has k, non-null and with no unknown inside.
func Known(m resource.PropertyMap, k string) bool {
	v, ok := m[resource.PropertyKey(k)]
	return ok && !v.IsNull() && !v.ContainsUnknowns()
}

// Has reports whether m has k non-null (possibly unknown).
func Has(m resource.PropertyMap, k string) bool {
	v, ok := m[resource.PropertyKey(k)]
	return ok && !v.IsNull()
}

// Unknown reports whether m[k] is or contains an unknown.
func Unknown(m resource.PropertyMap, k string) bool {
	v, ok := m[resource.PropertyKey(k)]
	return ok && v.ContainsUnknowns()
}

// Str returns m[k] as a string ("" when absent, unknown or not a string).
func Str(m resource.PropertyMap, k string) string {
	v := Unsecret(m[resource.PropertyKey(k)])
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

// Bool returns m[k] as a bool (false when absent or unknown). A "true"/"false" string counts.
func Bool(m resource.PropertyMap, k string) bool {
	b, _ := BoolOK(m, k)
	return b
}

// BoolOK returns m[k] as a bool and whether it was set (known, non-null).
func BoolOK(m resource.PropertyMap, k string) (bool, bool) {
	v := Unsecret(m[resource.PropertyKey(k)])
	switch {
	case v.IsBool():
		return v.BoolValue(), true
	case v.IsString() && (v.StringValue() == "true" || v.StringValue() == "false"):
		return v.StringValue() == "true", true
	}
	return false, false
}

// Num returns m[k] as a number (0 when absent or unknown).
func Num(m resource.PropertyMap, k string) float64 {
	v := Unsecret(m[resource.PropertyKey(k)])
	if v.IsNumber() {
		return v.NumberValue()
	}
	return 0
}

// Obj returns m[k] as an object (nil when absent, unknown or not an object).
func Obj(m resource.PropertyMap, k string) resource.PropertyMap {
	v := Unsecret(m[resource.PropertyKey(k)])
	if v.IsObject() {
		return v.ObjectValue()
	}
	return nil
}

// Strs returns m[k] as a list of strings (nil when absent or unknown).
func Strs(m resource.PropertyMap, k string) []string {
	v := Unsecret(m[resource.PropertyKey(k)])
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

// Copy returns a shallow copy of m.
func Copy(m resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Unknowns returns a copy of m in which each key of keys that m lacks (or holds null) is unknown:
// what a preview reports for computed outputs.
func Unknowns(m resource.PropertyMap, keys ...string) resource.PropertyMap {
	out := Copy(m)
	for _, k := range keys {
		if !Has(out, k) {
			out[resource.PropertyKey(k)] = resource.MakeComputed(resource.NewStringProperty(""))
		}
	}
	return out
}

// S, B, N and L build property values.
func S(s string) resource.PropertyValue  { return resource.NewStringProperty(s) }
func B(b bool) resource.PropertyValue    { return resource.NewBoolProperty(b) }
func N(n float64) resource.PropertyValue { return resource.NewNumberProperty(n) }
func L(ss []string) resource.PropertyValue {
	out := []resource.PropertyValue{}
	for _, s := range ss {
		out = append(out, resource.NewStringProperty(s))
	}
	return resource.NewArrayProperty(out)
}

// IsZero reports whether v is null or the zero value of its type: the Terraform plugin SDK does
// not tell an unset primitive from its zero value, so neither does Diff.
func IsZero(v resource.PropertyValue) bool {
	v = Unsecret(v)
	switch {
	case v.IsNull():
		return true
	case v.IsBool():
		return !v.BoolValue()
	case v.IsString():
		return v.StringValue() == ""
	case v.IsNumber():
		return v.NumberValue() == 0
	case v.IsArray():
		return len(v.ArrayValue()) == 0
	case v.IsObject():
		return len(v.ObjectValue()) == 0
	}
	return false
}

// Equal compares two values the way Diff needs: secrets unwrapped, unknowns never equal, a zero
// value equal to null, objects compared key by key under the same rule.
func Equal(a, b resource.PropertyValue) bool {
	a, b = Unsecret(a), Unsecret(b)
	if a.ContainsUnknowns() || b.ContainsUnknowns() {
		return false
	}
	if IsZero(a) && IsZero(b) {
		return true
	}
	switch {
	case a.IsObject() && b.IsObject():
		am, bm := a.ObjectValue(), b.ObjectValue()
		for _, k := range unionKeys(am, bm) {
			if !Equal(am[k], bm[k]) {
				return false
			}
		}
		return true
	case a.IsArray() && b.IsArray():
		aa, ba := a.ArrayValue(), b.ArrayValue()
		if len(aa) != len(ba) {
			return false
		}
		for i := range aa {
			if !Equal(aa[i], ba[i]) {
				return false
			}
		}
		return true
	case a.IsNumber() && b.IsNumber():
		return a.NumberValue() == b.NumberValue()
	case a.IsString() && b.IsString():
		return a.StringValue() == b.StringValue()
	case a.IsBool() && b.IsBool():
		return a.BoolValue() == b.BoolValue()
	}
	return a.DeepEquals(b)
}

func unionKeys(ms ...resource.PropertyMap) []resource.PropertyKey {
	seen := map[resource.PropertyKey]bool{}
	var keys []resource.PropertyKey
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// Planned is the state Terraform plans for an update, what d.Get reads in Update: the old state,
// each declared input replaced by its new value, a Computed input left unset keeping its old value.
func Planned(spec *Spec, olds, news resource.PropertyMap) resource.PropertyMap {
	out := Copy(olds)
	computed := map[string]bool{}
	for _, k := range spec.Computed {
		computed[k] = true
	}
	for _, k := range spec.Inputs {
		key := resource.PropertyKey(k)
		switch {
		case Has(news, k):
			out[key] = news[key]
		case !computed[k]:
			delete(out, key)
		}
	}
	return out
}
