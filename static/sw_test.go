package static

import (
	"regexp"
	"strings"
	"testing"
)

// TestServiceWorkerPrecachesWalletModules: every module the wallet and the
// scanner import, directly or through another module, is in the service
// worker's precache, so a page reopened without a network can load all of
// its code.
func TestServiceWorkerPrecachesWalletModules(t *testing.T) {
	sw, err := FS.ReadFile("sw.js")
	if err != nil {
		t.Fatal(err)
	}
	imports := regexp.MustCompile(`(?m)^import [^;]*? from '\./([a-z0-9_-]+\.js)';`)
	seen := map[string]bool{}
	queue := []string{"wallet.js", "scan.js"}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		if !strings.Contains(string(sw), "'/static/js/"+name+"'") {
			t.Errorf("sw.js does not precache /static/js/%s, which the wallet loads", name)
		}
		src, err := FS.ReadFile("js/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range imports.FindAllStringSubmatch(string(src), -1) {
			queue = append(queue, m[1])
		}
	}
	if len(seen) < 4 {
		t.Fatalf("found only %v; has the import pattern gone stale?", seen)
	}
}
