// Package i18n holds the message catalogues (Japanese and English) and picks
// the language of a request. Catalogues are flat JSON files named
// <area>.<lang>.json, merged per language at start.
package i18n

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Languages returns the languages the product speaks; the first is the default.
func Languages() []string { return []string{"ja", "en"} }

// Catalog is the merged messages of every language.
type Catalog struct {
	msgs map[string]map[string]string
}

// Load reads every *.<lang>.json in dir of fsys.
func Load(fsys fs.FS, dir string) (*Catalog, error) {
	c := &Catalog{msgs: map[string]map[string]string{}}
	for _, l := range Languages() {
		c.msgs[l] = map[string]string{}
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read catalogues: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		base := strings.TrimSuffix(name, ".json")
		lang := path.Ext(base)
		if lang == "" || base == name {
			continue
		}
		lang = lang[1:]
		m, ok := c.msgs[lang]
		if !ok {
			return nil, fmt.Errorf("catalogue %s: unknown language %q", name, lang)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		var kv map[string]string
		if err := json.Unmarshal(b, &kv); err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		for k, v := range kv {
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("catalogue %s: key %q defined twice", name, k)
			}
			m[k] = v
		}
	}
	return c, nil
}

// T returns the message for key in lang, falling back to English, then to
// the key itself so that a missing message is visible, not blank.
func (c *Catalog) T(lang, key string) string {
	if v, ok := c.msgs[lang][key]; ok {
		return v
	}
	if v, ok := c.msgs["en"][key]; ok {
		return v
	}
	return key
}

// Prefix returns every message of lang whose key starts with prefix.
func (c *Catalog) Prefix(lang, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range c.msgs["en"] {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	for k, v := range c.msgs[lang] {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// Keys lists the keys of a language (tests check both have the same).
func (c *Catalog) Keys(lang string) map[string]bool {
	out := map[string]bool{}
	for k := range c.msgs[lang] {
		out[k] = true
	}
	return out
}

// Pick chooses a language: an explicit choice (cookie or ?lang=) first,
// then the Accept-Language header, then Japanese.
func Pick(explicit, acceptLanguage string) string {
	for _, l := range Languages() {
		if explicit == l {
			return l
		}
	}
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(tag)
		for _, l := range Languages() {
			if tag == l || strings.HasPrefix(tag, l+"-") {
				return l
			}
		}
	}
	return Languages()[0]
}
