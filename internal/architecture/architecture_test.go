package architecture

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/alumnipass/alumnipass/"

type pkg struct {
	ImportPath string
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
