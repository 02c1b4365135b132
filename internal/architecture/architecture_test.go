package architecture

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const mod = "github.com/alumnipass/alumnipass/"

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

func list(t *testing.T) map[string]pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "github.com/alumnipass/alumnipass/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, mod)] = p
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	pkgs := list(t)
	sqlDrivers := []string{"database/sql", "github.com/jmoiron/sqlx", "github.com/lib/pq", "modernc.org/sqlite"}
	io := append([]string{"net/http", "os/exec", "github.com/gofiber/fiber/v2"}, sqlDrivers...)
	for name, p := range pkgs {
		switch {
		case name == "internal/model" || name == "internal/credential" || name == "internal/statuslist" || name == "internal/offline":
			for _, bad := range io {
				if contains(p.Deps, bad) {
					t.Errorf("%s must do no I/O but depends on %s", name, bad)
				}
			}
		}
		for _, imp := range p.Imports {
			if imp == mod+"internal/web" && name != "cmd/alumnipass" {
				t.Errorf("%s imports internal/web; only cmd may", name)
			}
			if contains(sqlDrivers[1:], imp) && !strings.HasPrefix(name, "internal/store") && name != "cmd/apbench" {
				t.Errorf("%s imports %s; only internal/store speaks SQL", name, imp)
			}
		}
	}
	features := []string{"internal/members", "internal/wallet", "internal/partners", "internal/verify"}
	for _, f := range features {
		for _, g := range features {
			if f != g && contains(pkgs[f].Imports, mod+g) {
				t.Errorf("feature %s imports feature %s", f, g)
			}
		}
		if contains(pkgs[f].Imports, mod+"internal/web") {
			t.Errorf("%s imports internal/web", f)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// The HTTP surface: internal/web builds the app and mounts the surfaces
// (api, console, public), which share httpkit. Only cmd/alumnipass imports
// internal/web, and only its root; no web package speaks to the store.
func TestWebRules(t *testing.T) {
	pkgs := list(t)
	for name, p := range pkgs {
		inWeb := name == "internal/web" || strings.HasPrefix(name, "internal/web/")
		for _, imp := range p.Imports {
			imp, ok := strings.CutPrefix(imp, mod)
			if !ok {
				continue
			}
			if inWeb && (imp == "internal/store" || strings.HasPrefix(imp, "internal/store/")) {
				t.Errorf("%s imports %s; the web calls feature services, only cmd wires the store", name, imp)
			}
			if !inWeb && (imp == "internal/web" || strings.HasPrefix(imp, "internal/web/")) &&
				(name != "cmd/alumnipass" || imp != "internal/web") {
				t.Errorf("%s imports %s; only cmd/alumnipass imports the web, and only internal/web", name, imp)
			}
		}
	}
	for _, want := range []string{"internal/web/api", "internal/web/console", "internal/web/public", "internal/web/httpkit"} {
		if _, ok := pkgs[want]; !ok {
			t.Errorf("%s is missing: the web is split by surface", want)
		}
	}
}

// layer places a package in the import graph: a package imports only its
// own layer or those below (the web's layers only strictly below: a surface
// does not import another). New packages under internal/ are features
// unless listed as pure.
func layer(name string) int {
	switch {
	case strings.HasPrefix(name, "cmd/"):
		return 7
	case name == "internal/web":
		return 6
	case name == "internal/web/httpkit":
		return 4
	case strings.HasPrefix(name, "internal/web/"):
		return 5
	case name == "internal/store" || strings.HasPrefix(name, "internal/store/"):
		return 1
	}
	switch name {
	case "internal/model", "internal/credential", "internal/config", "internal/i18n", "internal/seal",
		"internal/textfold", "internal/csvimport", "internal/statuslist", "internal/mailer",
		"internal/browsertest", "internal/architecture", "migrations", "static":
		return 0
	}
	return 2 // features and services: auth, keyring, members, partners, wallet, verify …
}

// TestNoUpwardImport: every import goes down the layers (or within one,
// outside the web), and the graph has no cycle.
func TestNoUpwardImport(t *testing.T) {
	pkgs := list(t)
	graph := map[string][]string{}
	for name, p := range pkgs {
		for _, imp := range p.Imports {
			if imp, ok := strings.CutPrefix(imp, mod); ok {
				graph[name] = append(graph[name], imp)
				from, to := layer(name), layer(imp)
				if to > from || to == from && from >= 4 {
					t.Errorf("%s (layer %d) imports %s (layer %d): an upward or sideways import", name, from, imp, to)
				}
			}
		}
	}
	// Go refuses cycles, but the rule is stated here so that it holds
	// whatever the build does.
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(n string)
	visit = func(n string) {
		switch state[n] {
		case open:
			t.Errorf("import cycle: %s -> %s", strings.Join(path, " -> "), n)
			return
		case done:
			return
		}
		state[n] = open
		path = append(path, n)
		for _, m := range graph[n] {
			visit(m)
		}
		path = path[:len(path)-1]
		state[n] = done
	}
	names := make([]string, 0, len(pkgs))
	for name := range pkgs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, n := range names {
		visit(n)
	}
}

// TestNoPackageTooLarge: no package holds more than a quarter of the
// code's lines (non-test Go files), so that no room becomes the house.
func TestNoPackageTooLarge(t *testing.T) {
	pkgs := list(t)
	lines := map[string]int{}
	total := 0
	for name, p := range pkgs {
		for _, f := range p.GoFiles {
			b, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			n := bytes.Count(b, []byte("\n"))
			lines[name] += n
			total += n
		}
	}
	if total < 5000 {
		t.Fatalf("only %d lines of code counted; is go list answering?", total)
	}
	for name, n := range lines {
		if n*4 > total {
			t.Errorf("%s has %d of the code's %d lines, over a quarter: split it", name, n, total)
		}
	}
}
