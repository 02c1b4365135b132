package main

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/alumnipass/alumnipass/internal/model"
)

// openAPIFile is the API contract the tests below hold the server to.
const openAPIFile = "../../docs/openapi.yaml"

// openAPI is docs/openapi.yaml parsed loosely: enough to list its
// operations, find the schema of a response and check a live answer against
// it. It is not a JSON Schema validator: it checks types, enums, required
// fields, array items and, stricter than JSON Schema, that every field of an
// answer is documented, since DESIGN.md promises that every field is.
type openAPI struct {
	root map[string]any
}

func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	b, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatalf("%s: %v", openAPIFile, err)
	}
	if v, _ := root["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("%s: openapi version %q, want 3.1.x", openAPIFile, v)
	}
	return &openAPI{root: root}
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operations maps "METHOD /path/{param}" to its operation object.
func (d *openAPI) operations() map[string]map[string]any {
	out := map[string]map[string]any{}
	paths, _ := d.root["paths"].(map[string]any)
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		for _, m := range httpMethods {
			if op, ok := ops[m].(map[string]any); ok {
				out[strings.ToUpper(m)+" "+p] = op
			}
		}
	}
	return out
}

// deref follows local $refs ("#/components/...") to the node they name.
func (d *openAPI) deref(v any) map[string]any {
	m, _ := v.(map[string]any)
	for i := 0; m != nil && i < 10; i++ {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var node any = d.root
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			nm, _ := node.(map[string]any)
			node = nm[part]
		}
		m, _ = node.(map[string]any)
	}
	return m
}

// response is the documented response of an operation for a status.
func (d *openAPI) response(method, path string, status int) map[string]any {
	op := d.operations()[method+" "+path]
	if op == nil {
		return nil
	}
	rs, _ := op["responses"].(map[string]any)
	return d.deref(rs[strconv.Itoa(status)])
}

// enum returns the enum of a named schema.
func (d *openAPI) enum(schema string) map[string]bool {
	s := d.deref(map[string]any{"$ref": "#/components/schemas/" + schema})
	out := map[string]bool{}
	list, _ := s["enum"].([]any)
	for _, v := range list {
		out[fmt.Sprint(v)] = true
	}
	return out
}

var codesLine = regexp.MustCompile(`(?m)^\s*Codes:(.*)$`)
var backticked = regexp.MustCompile("`([a-z_]+)`")

// listedCodes are the error codes a response's description names on its
// "Codes:" line.
func listedCodes(resp map[string]any) []string {
	desc, _ := resp["description"].(string)
	var out []string
	for _, m := range codesLine.FindAllStringSubmatch(desc, -1) {
		for _, c := range backticked.FindAllStringSubmatch(m[1], -1) {
			out = append(out, c[1])
		}
	}
	return out
}

// shape is a schema with its allOf branches merged.
type shape struct {
	types    []string
	props    map[string]any
	required []string
	enum     []any
	items    any
}

func (d *openAPI) shape(s any) shape {
	m := d.deref(s)
	sh := shape{props: map[string]any{}}
	branches, _ := m["allOf"].([]any)
	for _, b := range branches {
		sub := d.shape(b)
		sh.types = append(sh.types, sub.types...)
		for k, v := range sub.props {
			sh.props[k] = v
		}
		sh.required = append(sh.required, sub.required...)
	}
	switch t := m["type"].(type) {
	case string:
		sh.types = append(sh.types, t)
	case []any:
		for _, x := range t {
			sh.types = append(sh.types, fmt.Sprint(x))
		}
	}
	props, _ := m["properties"].(map[string]any)
	for k, v := range props {
		sh.props[k] = v
	}
	req, _ := m["required"].([]any)
	for _, r := range req {
		sh.required = append(sh.required, fmt.Sprint(r))
	}
	if e, ok := m["enum"].([]any); ok {
		sh.enum = e
	}
	if c, ok := m["const"]; ok {
		sh.enum = []any{c}
	}
	sh.items = m["items"]
	return sh
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// check lists how the JSON value v (as encoding/json decodes into any)
// departs from schema s.
func (d *openAPI) check(s any, v any, at string) []string {
	sh := d.shape(s)
	var errs []string
	if len(sh.types) > 0 {
		got, ok := jsonType(v), false
		for _, t := range sh.types {
			ok = ok || t == got || t == "number" && got == "integer"
		}
		if !ok {
			return []string{fmt.Sprintf("%s: %s, documented as %v", at, got, sh.types)}
		}
	}
	if len(sh.enum) > 0 {
		ok := false
		for _, e := range sh.enum {
			ok = ok || fmt.Sprint(e) == fmt.Sprint(v)
		}
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: %v is not one of the documented values %v", at, v, sh.enum))
		}
	}
	switch x := v.(type) {
	case map[string]any:
		for _, r := range sh.required {
			if _, ok := x[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required field %q is missing", at, r))
			}
		}
		if len(sh.props) == 0 {
			break
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p, ok := sh.props[k]
			if !ok {
				errs = append(errs, fmt.Sprintf("%s: field %q is not documented", at, k))
				continue
			}
			errs = append(errs, d.check(p, x[k], at+"."+k)...)
		}
	case []any:
		if sh.items != nil {
			for i, e := range x {
				errs = append(errs, d.check(sh.items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

// checkAnswer checks a live answer against the documented response of the
// operation: the status and content type are documented, a JSON body fits
// the schema, and an error's code is one the response lists.
func (d *openAPI) checkAnswer(t *testing.T, method, route string, r *response) {
	t.Helper()
	resp := d.response(method, route, r.Status)
	if resp == nil {
		t.Errorf("%s %s answered %d, which docs/openapi.yaml does not document: %s", method, route, r.Status, r.Body)
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	content, _ := resp["content"].(map[string]any)
	media, ok := content[ct].(map[string]any)
	if !ok {
		t.Errorf("%s %s %d: content type %q is not documented", method, route, r.Status, ct)
		return
	}
	if ct != "application/json" {
		return
	}
	for _, e := range d.check(media["schema"], r.JSON, "body") {
		t.Errorf("%s %s %d: %s\n%s", method, route, r.Status, e, r.Body)
	}
	if r.Status >= 400 {
		code := r.Code()
		listed := listedCodes(resp)
		if !slices.Contains(listed, code) {
			t.Errorf("%s %s %d: error code %q is not among the codes documented for it %v", method, route, r.Status, code, listed)
		}
	}
}

var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// documentedSurface says whether a route belongs to the JSON API and the
// operational endpoints that docs/openapi.yaml specifies (pages do not).
func documentedSurface(path string) bool {
	return strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/.well-known/") ||
		path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// TestOpenAPIRoutes holds docs/openapi.yaml and the router to each other:
// every API route the server registers is documented with its method, and
// every documented operation exists.
func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	ts := startServer(t, "sqlite")
	registered := map[string]bool{}
	for _, r := range ts.App.server.App().GetRoutes(true) {
		if r.Method == http.MethodHead || !documentedSurface(r.Path) {
			continue // Fiber adds HEAD to every GET
		}
		registered[r.Method+" "+fiberParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	if len(registered) < 20 {
		t.Fatalf("only %d routes found; is the server wired?", len(registered))
	}
	ops := doc.operations()
	for op := range registered {
		if ops[op] == nil {
			t.Errorf("route %s is registered but not documented in docs/openapi.yaml", op)
		}
	}
	for op, o := range ops {
		if !registered[op] {
			t.Errorf("docs/openapi.yaml documents %s, which the server does not register", op)
		}
		if _, ok := o["security"]; !ok {
			t.Errorf("%s: no security requirement (write security: [] for a public route)", op)
		}
		rs, _ := o["responses"].(map[string]any)
		ok2xx := false
		for status := range rs {
			ok2xx = ok2xx || strings.HasPrefix(status, "2")
		}
		if !ok2xx {
			t.Errorf("%s: no 2xx response documented", op)
		}
	}
}

// TestOpenAPIErrorCodes keeps the code lists honest: every code a response
// lists is in the ErrorCode enum, every literal error code in the packages
// behind the API is in it too, and the verification results and CSV problem
// codes match their enums.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc := loadOpenAPI(t)
	codes := doc.enum("ErrorCode")
	for op, o := range doc.operations() {
		rs, _ := o["responses"].(map[string]any)
		for status, r := range rs {
			resp := doc.deref(r)
			listed := listedCodes(resp)
			if status >= "400" && len(listed) == 0 {
				t.Errorf("%s %s: the description has no Codes: line", op, status)
			}
			for _, c := range listed {
				if !codes[c] {
					t.Errorf("%s %s lists %q, which is not in the ErrorCode enum", op, status, c)
				}
			}
		}
	}

	sources := []string{"../../internal/web/api/*.go", "../../internal/web/httpkit/*.go",
		"../../internal/web/server.go", "../../internal/members/*.go", "../../internal/partners/*.go",
		"../../internal/wallet/*.go", "../../internal/verify/*.go"}
	patterns := []*regexp.Regexp{
		regexp.MustCompile(`NewProblem\(model\.Err\w+,\s*"([a-z_]+)"\s*[,)]`),
		regexp.MustCompile(`Invalidf\([^,()]+,\s*"([a-z_]+)"\s*[,)]`),
		regexp.MustCompile(`Code:\s*"([a-z_]+)"`),
		regexp.MustCompile(`return http\.Status\w+,\s*"([a-z_]+)"`),
		regexp.MustCompile(`\.Code = "([a-z_]+)"`),
	}
	defaultMessage := regexp.MustCompile(`case "([a-z_]+)":`)
	found := 0
	for _, glob := range sources {
		files, err := filepath.Glob(glob)
		if err != nil || len(files) == 0 {
			t.Fatalf("no source files at %s", glob)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(filepath.Base(f), "admin_") {
				continue // tests, and the HTML console's own code
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ps := patterns
			if filepath.Base(f) == "errors.go" {
				ps = append(ps[:len(ps):len(ps)], defaultMessage)
			}
			for _, re := range ps {
				for _, m := range re.FindAllStringSubmatch(string(b), -1) {
					found++
					if !codes[m[1]] {
						t.Errorf("%s: error code %q is not in the ErrorCode enum of docs/openapi.yaml", f, m[1])
					}
				}
			}
		}
	}
	if found < 50 {
		t.Errorf("found only %d error codes in the sources; have the patterns gone stale?", found)
	}

	sameSet(t, "VerifyResult", doc.enum("VerifyResult"), constants(t, "../../internal/model/model.go", `Result\w+\s*=\s*"([a-z_]+)"`))
	problem := doc.shape(doc.shape(map[string]any{"$ref": "#/components/schemas/ImportProblem"}).props["code"])
	csvCodes := map[string]bool{}
	for _, e := range problem.enum {
		csvCodes[fmt.Sprint(e)] = true
	}
	sameSet(t, "ImportProblem.code", csvCodes, constants(t, "../../internal/csvimport/messages.go", `Code\w+\s*=\s*"([a-z_]+)"`))
}

// constants are the string values a pattern finds in a Go file.
func constants(t *testing.T, file, pattern string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = true
	}
	if len(out) == 0 {
		t.Fatalf("%s: nothing matches %s", file, pattern)
	}
	return out
}

func sameSet(t *testing.T, what string, documented, inCode map[string]bool) {
	t.Helper()
	if !reflect.DeepEqual(documented, inCode) {
		t.Errorf("%s: docs/openapi.yaml has %v, the code has %v", what, keys(documented), keys(inCode))
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// live calls a running server and checks each answer against the document.
type live struct {
	t      *testing.T
	doc    *openAPI
	ts     *testServer
	called map[string]bool // "METHOD /route" of every call
}

// call sends a request to path (an instance of the documented route), wants
// status, and checks the answer against the route's documented response.
func (l *live) call(method, route, path, token string, body any, status int, headers ...string) *response {
	l.t.Helper()
	l.called[method+" "+route] = true
	r := l.ts.do(method, path, token, body, headers...)
	if r.Status != status {
		l.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, status, r.Body)
	}
	l.doc.checkAnswer(l.t, method, route, r)
	return r
}

// TestOpenAPIAnswers walks every documented operation against a live server
// and checks that the answers (successes and errors) match the document.
func TestOpenAPIAnswers(t *testing.T) {
	doc := loadOpenAPI(t)
	ts := startServer(t, "sqlite")
	now := time.Now().UTC().Truncate(time.Second)
	ts.Clock.Set(now)
	l := &live{t: t, doc: doc, ts: ts, called: map[string]bool{}}
	hr := ts.HRToken
	viewer, err := ts.App.svc.Auth.CreateHRToken(context.Background(), "auditor", model.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}

	l.call("GET", "/healthz", "/healthz", "", nil, 200)
	l.call("GET", "/readyz", "/readyz", "", nil, 200)
	l.call("GET", "/metrics", "/metrics", "", nil, 200)
	l.call("GET", "/api/v1/time", "/api/v1/time", "", nil, 200)
	l.call("GET", "/.well-known/alumnipass/keys.json", "/.well-known/alumnipass/keys.json", "", nil, 200)
	l.call("GET", "/.well-known/alumnipass/status-list", "/.well-known/alumnipass/status-list", "", nil, 200)
	l.call("GET", "/.well-known/alumnipass/status-list", "/.well-known/alumnipass/status-list?since=1", "", nil, 200)
	l.call("GET", "/.well-known/alumnipass/status-list", "/.well-known/alumnipass/status-list?since=x", "", nil, 400)

	// HR: members, cards, import, audit.
	member := map[string]any{"employee_no": "E0001", "family_name": "佐藤", "given_name": "花子", "family_name_kana": "サトウ",
		"given_name_kana": "ハナコ", "email": "hanako.sato@example.co.jp", "tier": "gold", "departed_on": "2024-03-31"}
	m := l.call("POST", "/api/v1/members", "/api/v1/members", hr, member, 201)
	id := m.Str("id")
	l.call("POST", "/api/v1/members", "/api/v1/members", hr, member, 409)
	l.call("POST", "/api/v1/members", "/api/v1/members", hr, map[string]any{"employee_no": "E0002", "family_name": "髙橋",
		"given_name": "一郎", "email": "ichiro", "tier": "gold", "departed_on": "2024-03-31"}, 400)
	l.call("POST", "/api/v1/members", "/api/v1/members", hr, `{"employee_no": 1}`, 400)
	l.call("POST", "/api/v1/members", "/api/v1/members", "", member, 401)
	l.call("POST", "/api/v1/members", "/api/v1/members", viewer, member, 403)
	l.call("GET", "/api/v1/members", "/api/v1/members?q=佐藤&limit=10", viewer, nil, 200)
	l.call("GET", "/api/v1/members", "/api/v1/members?limit=0", hr, nil, 400)
	card := l.call("POST", "/api/v1/members/{id}/cards", "/api/v1/members/"+id+"/cards", hr, nil, 201)
	l.call("GET", "/api/v1/members/{id}", "/api/v1/members/"+id, hr, nil, 200)
	l.call("GET", "/api/v1/members/{id}", "/api/v1/members/00000000-0000-0000-0000-000000000000", hr, nil, 404)
	csvOK := []byte("社員番号,姓,名,セイ,メイ,メールアドレス,区分,退職日,言語\nE0003,山﨑,花子,やまさき,はなこ,hanako.yamasaki@example.com,standard,2023年12月1日,\n")
	l.call("POST", "/api/v1/members/import", "/api/v1/members/import?dry_run=1", hr, csvOK, 200)
	l.call("POST", "/api/v1/members/import", "/api/v1/members/import", hr, csvOK, 200)
	csvBad := []byte("社員番号,姓,名,メールアドレス,区分,退職日\nE0004,鈴木,次郎,jiro,standard,令和6年3月31日\n")
	l.call("POST", "/api/v1/members/import", "/api/v1/members/import", hr, csvBad, 422)
	l.call("POST", "/api/v1/members/import", "/api/v1/members/import", hr, map[string]string{}, 400)

	// The alumnus enrols and issues a guest pass.
	enr := l.call("POST", "/api/v1/wallet/enroll", "/api/v1/wallet/enroll", "", map[string]any{"token": card.Str("enrollment_token"), "consent": true}, 201)
	l.call("POST", "/api/v1/wallet/enroll", "/api/v1/wallet/enroll", "", map[string]any{"token": card.Str("enrollment_token"), "consent": true}, 409)
	wallet := enr.Str("wallet_token")
	l.call("GET", "/api/v1/wallet/code", "/api/v1/wallet/code", wallet, nil, 200)
	l.call("GET", "/api/v1/wallet/code", "/api/v1/wallet/code", "apw_nonsense0000", nil, 401)
	l.call("GET", "/api/v1/wallet/code.png", "/api/v1/wallet/code.png", wallet, nil, 200)
	guest := map[string]any{"party_size": 2, "valid_until": now.Add(24 * time.Hour).Format(time.RFC3339)}
	gp := l.call("POST", "/api/v1/wallet/guest-passes", "/api/v1/wallet/guest-passes", wallet, guest, 201)
	l.call("POST", "/api/v1/wallet/guest-passes", "/api/v1/wallet/guest-passes", wallet, map[string]any{"party_size": 2}, 400)
	spare := l.call("POST", "/api/v1/wallet/guest-passes", "/api/v1/wallet/guest-passes", wallet, guest, 201)
	l.call("POST", "/api/v1/wallet/guest-passes/{id}/cancel", "/api/v1/wallet/guest-passes/"+spare.Str("id")+"/cancel", wallet, nil, 200)
	l.call("POST", "/api/v1/wallet/guest-passes/{id}/cancel", "/api/v1/wallet/guest-passes/"+spare.Str("id")+"/cancel", wallet, nil, 409)

	// A partner, its venues, keys and perks.
	p := l.call("POST", "/api/v1/partners", "/api/v1/partners", hr, map[string]any{"name": "炭火焼 さくら", "kind": "restaurant", "venue_name": "さくら 渋谷店"}, 201)
	pid := p.Str("id")
	l.call("POST", "/api/v1/partners", "/api/v1/partners", hr, map[string]any{"name": "ホテル 湊", "kind": "inn"}, 400)
	l.call("GET", "/api/v1/partners", "/api/v1/partners", viewer, nil, 200)
	l.call("GET", "/api/v1/partners/{id}", "/api/v1/partners/"+pid, hr, nil, 200)
	l.call("GET", "/api/v1/partners/{id}", "/api/v1/partners/00000000-0000-0000-0000-000000000000", hr, nil, 404)
	v2 := l.call("POST", "/api/v1/partners/{id}/venues", "/api/v1/partners/"+pid+"/venues", hr, map[string]any{"name": "さくら 新宿店"}, 201)
	key := l.call("POST", "/api/v1/partners/{id}/keys", "/api/v1/partners/"+pid+"/keys", hr, map[string]any{"name": "POS レジ1"}, 201)
	key2 := l.call("POST", "/api/v1/partners/{id}/keys", "/api/v1/partners/"+pid+"/keys", hr, map[string]any{"name": "POS 新宿", "venue_id": v2.Str("id")}, 201)
	l.call("POST", "/api/v1/partners/{id}/keys", "/api/v1/partners/"+pid+"/keys", hr, map[string]any{"name": "x", "venue_id": id}, 400)
	l.call("POST", "/api/v1/partners/{id}/tokens", "/api/v1/partners/"+pid+"/tokens", hr, map[string]any{"name": "POS 連携"}, 201)
	l.call("POST", "/api/v1/partners/{id}/tokens", "/api/v1/partners/"+pid+"/tokens", hr, map[string]any{"name": ""}, 400)
	l.call("PUT", "/api/v1/partners/{id}/offline-limit", "/api/v1/partners/"+pid+"/offline-limit", hr, map[string]any{"minutes": 10}, 200)
	l.call("PUT", "/api/v1/partners/{id}/offline-limit", "/api/v1/partners/"+pid+"/offline-limit", hr, map[string]any{"minutes": 0}, 400)
	l.call("GET", "/api/v1/partners/{id}/keys", "/api/v1/partners/"+pid+"/keys", hr, nil, 200)
	perk := l.call("POST", "/api/v1/partners/{id}/perks", "/api/v1/partners/"+pid+"/perks", hr, map[string]any{
		"title": "お会計10%オフ", "eligible_tiers": []string{"gold", "standard"}, "companions": 3, "limit_per_day": 1}, 201)
	l.call("POST", "/api/v1/partners/{id}/perks", "/api/v1/partners/"+pid+"/perks", hr, map[string]any{"title": "x", "eligible_tiers": []string{}}, 400)
	lunch := l.call("POST", "/api/v1/partners/{id}/perks", "/api/v1/partners/"+pid+"/perks", hr, map[string]any{
		"title": "ランチ限定 ドリンク1杯", "eligible_tiers": []string{"*"}, "days": []string{"sat", "sun"}, "hours": "11:00-14:00"}, 201)
	l.call("POST", "/api/v1/partners/{id}/perks", "/api/v1/partners/"+pid+"/perks", hr, map[string]any{
		"title": "x", "eligible_tiers": []string{"*"}, "hours": "11-14"}, 400)
	l.call("GET", "/api/v1/partners/{id}/perks", "/api/v1/partners/"+pid+"/perks", viewer, nil, 200)
	oc := l.call("POST", "/api/v1/partners/{id}/oidc-clients", "/api/v1/partners/"+pid+"/oidc-clients", hr, map[string]any{
		"name": "ホテル予約サイト", "redirect_uris": []string{"https://booking.hotel.example/cb"}}, 201)
	l.call("POST", "/api/v1/partners/{id}/oidc-clients", "/api/v1/partners/"+pid+"/oidc-clients", hr, map[string]any{
		"name": "x", "redirect_uris": []string{"http://booking.hotel.example/cb"}}, 400)
	l.call("GET", "/api/v1/partners/{id}/oidc-clients", "/api/v1/partners/"+pid+"/oidc-clients", hr, nil, 200)
	l.call("POST", "/api/v1/partners/{id}/oidc-clients/{client}/revoke", "/api/v1/partners/"+pid+"/oidc-clients/"+oc.Str("client_id")+"/revoke", hr, nil, 200)
	l.call("POST", "/api/v1/partners/{id}/oidc-clients/{client}/revoke", "/api/v1/partners/"+pid+"/oidc-clients/"+oc.Str("client_id")+"/revoke", hr, nil, 409)
	l.call("POST", "/api/v1/partners/{id}/oidc-clients/{client}/revoke", "/api/v1/partners/"+pid+"/oidc-clients/"+pid+"/revoke", hr, nil, 404)
	// An online redemption with a member's access token from the provider.
	site := newPartnerSite(t, ts, pid)
	vf := strings.Repeat("v", 50)
	at, _ := exchange(t, ts, site, codeFor(t, ts, site, wallet, vf), site.URL+"/cb", vf).JSON["access_token"].(string)
	booking := map[string]any{"perk_id": lunch.Str("id"), "party_size": 1, "booking_reference": "HTL-2026-0042"}
	l.call("POST", "/api/v1/online-redemptions", "/api/v1/online-redemptions", at, booking, 201, "Idempotency-Key", "booking-0042")
	l.call("POST", "/api/v1/online-redemptions", "/api/v1/online-redemptions", at, booking, 200, "Idempotency-Key", "booking-0042")
	l.call("POST", "/api/v1/online-redemptions", "/api/v1/online-redemptions", at, map[string]any{"perk_id": lunch.Str("id"), "party_size": 9, "booking_reference": "X"}, 400, "Idempotency-Key", "booking-0043")
	l.call("POST", "/api/v1/online-redemptions", "/api/v1/online-redemptions", at, map[string]any{"perk_id": pid, "party_size": 1, "booking_reference": "X"}, 404, "Idempotency-Key", "booking-0044")
	l.call("POST", "/api/v1/online-redemptions", "/api/v1/online-redemptions", at, map[string]any{"perk_id": lunch.Str("id"), "party_size": 1, "booking_reference": "X"}, 409, "Idempotency-Key", "booking-0042")
	l.call("POST", "/api/v1/online-redemptions", "/api/v1/online-redemptions", hr, booking, 401, "Idempotency-Key", "booking-0045")
	pairing := l.call("POST", "/api/v1/partners/{id}/pairing-codes", "/api/v1/partners/"+pid+"/pairing-codes", hr, nil, 201)
	paired := l.call("POST", "/api/v1/devices/pair", "/api/v1/devices/pair", "", map[string]any{"code": pairing.Str("code")}, 201)
	dev, dev2 := key.Str("key"), key2.Str("key")
	l.call("GET", "/api/v1/devices/me", "/api/v1/devices/me", dev, nil, 200)
	l.call("GET", "/api/v1/devices/me", "/api/v1/devices/me", hr, nil, 403)

	// The counter: every kind of answer.
	holder := &fixture{SignedPart: enr.Str("signed_part"), Secret: enr.Str("totp_secret")}
	code := holder.cardCode(t, now)
	valid := l.call("POST", "/api/v1/verify", "/api/v1/verify", dev, map[string]string{"code": code}, 200)
	if valid.Str("result") != "valid" {
		t.Fatalf("want valid: %s", valid.Body)
	}
	verify := func(key, code, want string) *response {
		t.Helper()
		r := l.call("POST", "/api/v1/verify", "/api/v1/verify", key, map[string]string{"code": code}, 200)
		if r.Str("result") != want {
			t.Errorf("verify: result %q, want %q: %s", r.Str("result"), want, r.Body)
		}
		return r
	}
	if r := verify(dev, code, "valid"); r.JSON["repeat"] != true {
		t.Errorf("a re-scan is not a repeat: %s", r.Body)
	}
	verify(dev2, code, "replayed")
	verify(dev, holder.cardCode(t, now.Add(-10*time.Minute)), "stale")
	verify(dev, "AP1:C123456NOTACODE", "invalid")
	l.call("POST", "/api/v1/verify", "/api/v1/verify", dev, map[string]string{}, 400)
	l.call("POST", "/api/v1/verify", "/api/v1/verify", hr, map[string]string{"code": code}, 403)
	redeem := map[string]any{"verification_id": valid.Str("verification_id"), "perk_id": perk.Str("id"), "party_size": 3}
	l.call("POST", "/api/v1/redemptions", "/api/v1/redemptions", dev, redeem, 201, "Idempotency-Key", "6f1c2e0a-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
	l.call("POST", "/api/v1/redemptions", "/api/v1/redemptions", dev, redeem, 200, "Idempotency-Key", "6f1c2e0a-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
	l.call("POST", "/api/v1/redemptions", "/api/v1/redemptions", dev, redeem, 409, "Idempotency-Key", "0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d")
	l.call("POST", "/api/v1/redemptions", "/api/v1/redemptions", dev, redeem, 400)
	// A re-scan after the record says so; a new code today finds the perk's daily limit used.
	if r := verify(dev, code, "valid"); r.JSON["redeemed"] != true || r.JSON["usable"] != false || r.Str("unusable_reason") != "already_recorded" {
		t.Errorf("a re-scan after the record: %s", r.Body)
	}
	if r := verify(dev, holder.cardCode(t, now.Add(30*time.Second)), "valid"); answerPerk(r, perk.Str("id"))["unusable_reason"] != "daily_limit_reached" {
		t.Errorf("a scan after the day's use: %s", r.Body)
	}
	gv := verify(dev, gp.Str("code"), "valid")
	l.call("POST", "/api/v1/redemptions", "/api/v1/redemptions", dev, map[string]any{"verification_id": gv.Str("verification_id"),
		"perk_id": perk.Str("id"), "party_size": 3}, 400, "Idempotency-Key", "guest-too-many-1")
	l.call("POST", "/api/v1/redemptions", "/api/v1/redemptions", dev, map[string]any{"verification_id": gv.Str("verification_id"),
		"perk_id": perk.Str("id"), "party_size": 2}, 409, "Idempotency-Key", "guest-daily-limit-1") // the host's daily limit is used
	l.call("GET", "/api/v1/partners/{id}/redemptions", "/api/v1/partners/"+pid+"/redemptions", hr, nil, 200)
	l.call("GET", "/api/v1/partners/{id}/redemptions", "/api/v1/partners/"+pid+"/redemptions?format=csv", hr, nil, 200)
	l.call("GET", "/api/v1/partners/{id}/redemptions", "/api/v1/partners/"+pid+"/redemptions?since=yesterday", hr, nil, 400)

	// Status changes, as the counter sees them.
	l.call("POST", "/api/v1/members/{id}/suspend", "/api/v1/members/"+id+"/suspend", hr, nil, 200)
	l.call("POST", "/api/v1/members/{id}/suspend", "/api/v1/members/"+id+"/suspend", hr, nil, 409)
	verify(dev, holder.cardCode(t, now.Add(30*time.Second)), "suspended")
	l.call("GET", "/api/v1/wallet/code", "/api/v1/wallet/code", wallet, nil, 403)
	l.call("POST", "/api/v1/members/{id}/reinstate", "/api/v1/members/"+id+"/reinstate", hr, map[string]string{"reason": "確認済み"}, 200)
	l.call("POST", "/api/v1/members/{id}/revoke", "/api/v1/members/"+id+"/revoke", hr, map[string]string{}, 400)
	l.call("POST", "/api/v1/members/{id}/revoke", "/api/v1/members/"+id+"/revoke", hr, map[string]string{"reason": "退職時の合意に基づく"}, 200)
	verify(dev, gp.Str("code"), "revoked")
	l.call("POST", "/api/v1/members/{id}/cards", "/api/v1/members/"+id+"/cards", hr, nil, 409)
	l.call("GET", "/api/v1/audit", "/api/v1/audit?target="+id+"&limit=5", viewer, nil, 200)
	l.call("GET", "/api/v1/members/{id}/export", "/api/v1/members/"+id+"/export", hr, nil, 200)
	l.call("POST", "/api/v1/members/{id}/erase", "/api/v1/members/"+id+"/erase", hr, map[string]string{"reason": "x"}, 403)
	admin, err := ts.App.svc.Auth.CreateHRToken(context.Background(), "privacy officer", model.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	l.call("POST", "/api/v1/members/{id}/erase", "/api/v1/members/"+id+"/erase", admin, map[string]string{}, 400)
	l.call("POST", "/api/v1/members/{id}/erase", "/api/v1/members/"+id+"/erase", admin, map[string]string{"reason": "開示・削除請求 2026-0042"}, 200)
	l.call("GET", "/api/v1/members/{id}/export", "/api/v1/members/"+id+"/export", hr, nil, 200)
	l.call("GET", "/api/v1/audit", "/api/v1/audit?since=yesterday", viewer, nil, 400)

	// Cards bound to the phone's key (format version 2): at enrolment, or later.
	_, phoneKey := newPhoneKey(t)
	for i, bindLater := range []bool{false, true} {
		m := l.call("POST", "/api/v1/members", "/api/v1/members", hr, map[string]any{"employee_no": fmt.Sprintf("E01%02d", i), "family_name": "小林",
			"given_name": "陽", "email": fmt.Sprintf("yo%d@example.com", i), "tier": "gold", "departed_on": "2024-03-31"}, 201)
		c := l.call("POST", "/api/v1/members/{id}/cards", "/api/v1/members/"+m.Str("id")+"/cards", hr, nil, 201)
		enrol := map[string]any{"token": c.Str("enrollment_token"), "consent": true}
		if !bindLater {
			l.call("POST", "/api/v1/wallet/enroll", "/api/v1/wallet/enroll", "", map[string]any{"token": c.Str("enrollment_token"), "consent": true, "device_key": "AAAA"}, 400)
			enrol["device_key"] = phoneKey
		}
		e := l.call("POST", "/api/v1/wallet/enroll", "/api/v1/wallet/enroll", "", enrol, 201)
		w := e.Str("wallet_token")
		if bindLater {
			l.call("POST", "/api/v1/wallet/device", "/api/v1/wallet/device", w, map[string]any{"public_key": "!"}, 400)
			l.call("POST", "/api/v1/wallet/device", "/api/v1/wallet/device", w, map[string]any{"public_key": phoneKey}, 201)
		}
		l.call("POST", "/api/v1/wallet/device", "/api/v1/wallet/device", w, map[string]any{"public_key": phoneKey}, 409)
		l.call("GET", "/api/v1/wallet/code", "/api/v1/wallet/code", w, nil, 409)
		l.call("GET", "/api/v1/wallet/code.png", "/api/v1/wallet/code.png", w, nil, 409)
	}
	l.call("POST", "/api/v1/verify/offline", "/api/v1/verify/offline", dev, map[string]any{"scans": []map[string]any{
		{"code": code, "scanned_at": now.Format(time.RFC3339), "offline_result": "freshness_unknown"}}}, 200)
	l.call("POST", "/api/v1/verify/offline", "/api/v1/verify/offline", dev, map[string]any{"scans": []any{}}, 400)

	// Day two: edits, the partner's life cycle, bulk invitations.
	em := l.call("POST", "/api/v1/members", "/api/v1/members", hr, map[string]any{"employee_no": "E0900", "family_name": "森", "given_name": "葵",
		"email": "aoi@example.com", "tier": "standard", "departed_on": "2024-03-31"}, 201)
	l.call("PATCH", "/api/v1/members/{id}", "/api/v1/members/"+em.Str("id"), hr, map[string]any{"tier": "gold", "email": "aoi.mori@example.com"}, 200)
	l.call("PATCH", "/api/v1/members/{id}", "/api/v1/members/"+em.Str("id"), hr, map[string]any{"employee_no": "E0901"}, 400)
	l.call("PATCH", "/api/v1/members/{id}", "/api/v1/members/"+em.Str("id"), viewer, map[string]any{"tier": "gold"}, 403)
	l.call("PATCH", "/api/v1/members/{id}", "/api/v1/members/00000000-0000-0000-0000-000000000000", hr, map[string]any{"tier": "gold"}, 404)
	op := l.call("POST", "/api/v1/partners", "/api/v1/partners", hr, map[string]any{"name": "ホテル 港", "kind": "hotel"}, 201)
	opid, ovenue := op.Str("id"), op.JSON["venues"].([]any)[0].(map[string]any)["id"].(string)
	operk := l.call("POST", "/api/v1/partners/{id}/perks", "/api/v1/partners/"+opid+"/perks", hr, map[string]any{"title": "朝食無料", "eligible_tiers": []string{"*"}}, 201)
	l.call("PATCH", "/api/v1/partners/{id}/perks/{perk}", "/api/v1/partners/"+opid+"/perks/"+operk.Str("id"), hr, map[string]any{"companions": 1, "active": false}, 200)
	l.call("PATCH", "/api/v1/partners/{id}/perks/{perk}", "/api/v1/partners/"+opid+"/perks/"+operk.Str("id"), hr, map[string]any{"hours": "9-5"}, 400)
	l.call("PATCH", "/api/v1/partners/{id}/perks/{perk}", "/api/v1/partners/"+opid+"/perks/00000000-0000-0000-0000-000000000000", hr, map[string]any{"active": true}, 404)
	l.call("PATCH", "/api/v1/partners/{id}/venues/{venue}", "/api/v1/partners/"+opid+"/venues/"+ovenue, hr, map[string]any{"name": "本館", "closed": true}, 200)
	l.call("PATCH", "/api/v1/partners/{id}/venues/{venue}", "/api/v1/partners/"+opid+"/venues/"+ovenue, hr, map[string]any{"name": ""}, 400)
	l.call("PATCH", "/api/v1/partners/{id}/venues/{venue}", "/api/v1/partners/"+opid+"/venues/00000000-0000-0000-0000-000000000000", hr, map[string]any{"closed": true}, 404)
	l.call("POST", "/api/v1/partners/{id}/keys", "/api/v1/partners/"+opid+"/keys", hr, map[string]any{"name": "x", "venue_id": ovenue}, 409)
	l.call("PATCH", "/api/v1/partners/{id}", "/api/v1/partners/"+opid, hr, map[string]any{"name": "ホテル 港 本館", "active": false}, 200)
	l.call("PATCH", "/api/v1/partners/{id}", "/api/v1/partners/"+opid, hr, map[string]any{"name": ""}, 400)
	l.call("PATCH", "/api/v1/partners/{id}", "/api/v1/partners/00000000-0000-0000-0000-000000000000", hr, map[string]any{"active": false}, 404)
	inv := l.call("POST", "/api/v1/invitations", "/api/v1/invitations", hr, map[string]any{"member_ids": []string{em.Str("id")}}, 202)
	l.call("POST", "/api/v1/invitations", "/api/v1/invitations", hr, map[string]any{}, 400)
	l.call("POST", "/api/v1/invitations", "/api/v1/invitations", hr, map[string]any{"not_enrolled_days": 30}, 404)
	l.call("POST", "/api/v1/invitations", "/api/v1/invitations", viewer, map[string]any{"member_ids": []string{em.Str("id")}}, 403)
	l.call("GET", "/api/v1/invitations", "/api/v1/invitations", viewer, nil, 200)
	l.call("GET", "/api/v1/invitations/{id}", "/api/v1/invitations/"+inv.Str("id"), viewer, nil, 200)
	l.call("GET", "/api/v1/invitations/{id}", "/api/v1/invitations/00000000-0000-0000-0000-000000000000", hr, nil, 404)
	l.call("GET", "/api/v1/invitations/{id}/items", "/api/v1/invitations/"+inv.Str("id")+"/items?limit=10", viewer, nil, 200)
	l.call("GET", "/api/v1/invitations/{id}/items", "/api/v1/invitations/"+inv.Str("id")+"/items?state=lost", hr, nil, 400)
	l.call("POST", "/api/v1/invitations/{id}/cancel", "/api/v1/invitations/"+inv.Str("id")+"/cancel", hr, nil, 200)
	l.call("POST", "/api/v1/invitations/{id}/cancel", "/api/v1/invitations/"+inv.Str("id")+"/cancel", hr, nil, 409)
	l.call("GET", "/api/v1/members/{id}/guest-passes", "/api/v1/members/"+id+"/guest-passes", viewer, nil, 200)
	l.call("GET", "/api/v1/members/{id}/guest-passes", "/api/v1/members/00000000-0000-0000-0000-000000000000/guest-passes", hr, nil, 404)
	l.call("GET", "/api/v1/members/{id}/redemptions", "/api/v1/members/"+id+"/redemptions", viewer, nil, 200)
	l.call("GET", "/api/v1/members/{id}/redemptions", "/api/v1/members/00000000-0000-0000-0000-000000000000/redemptions", hr, nil, 404)
	root, err := ts.App.svc.Auth.CreateHRToken(context.Background(), "IT admin", model.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	u1, err := ts.App.svc.Console.CreateAdmin(context.Background(), "it1@example.com", "IT 1", "correct horse battery", model.RoleAdmin, "", "ja")
	if err != nil {
		t.Fatal(err)
	}
	u2, err := ts.App.svc.Console.CreateAdmin(context.Background(), "hr2@example.com", "HR 2", "correct horse battery", model.RoleHR, "", "ja")
	if err != nil {
		t.Fatal(err)
	}
	l.call("GET", "/api/v1/users", "/api/v1/users", root, nil, 200)
	l.call("GET", "/api/v1/users", "/api/v1/users", hr, nil, 403)
	l.call("PATCH", "/api/v1/users/{id}", "/api/v1/users/"+u2.ID, root, map[string]any{"role": "viewer"}, 200)
	l.call("PATCH", "/api/v1/users/{id}", "/api/v1/users/"+u2.ID, root, map[string]any{"role": "owner"}, 400)
	l.call("PATCH", "/api/v1/users/{id}", "/api/v1/users/"+u1.ID, root, map[string]any{"active": false}, 409)
	l.call("PATCH", "/api/v1/users/{id}", "/api/v1/users/00000000-0000-0000-0000-000000000000", root, map[string]any{"active": false}, 404)
	l.call("POST", "/api/v1/users/{id}/reset-password", "/api/v1/users/"+u2.ID+"/reset-password", root, map[string]any{"password": "short"}, 400)
	l.call("POST", "/api/v1/users/{id}/reset-password", "/api/v1/users/"+u2.ID+"/reset-password", root, map[string]any{"password": "another long password"}, 200)
	l.call("POST", "/api/v1/users/{id}/reset-second-factor", "/api/v1/users/"+u2.ID+"/reset-second-factor", root, nil, 200)
	l.call("POST", "/api/v1/users/{id}/reset-second-factor", "/api/v1/users/00000000-0000-0000-0000-000000000000/reset-second-factor", root, nil, 404)

	// Keys: revocation, and the pairing limit.
	l.call("POST", "/api/v1/partners/{id}/keys/{key}/revoke", "/api/v1/partners/"+pid+"/keys/"+paired.Str("key_id")+"/revoke", hr, nil, 200)
	l.call("POST", "/api/v1/partners/{id}/keys/{key}/revoke", "/api/v1/partners/"+pid+"/keys/"+id+"/revoke", hr, nil, 404)
	l.call("GET", "/api/v1/devices/me", "/api/v1/devices/me", paired.Str("key"), nil, 401)
	for i := 0; i < 9; i++ {
		l.call("POST", "/api/v1/devices/pair", "/api/v1/devices/pair", "", map[string]any{"code": "ZZZZZ-ZZZZZ"}, 404)
	}
	limited := l.call("POST", "/api/v1/devices/pair", "/api/v1/devices/pair", "", map[string]any{"code": "ZZZZZ-ZZZZZ"}, 429)
	if ra := limited.Header.Get("Retry-After"); ra == "" {
		t.Errorf("429 without Retry-After: %s", limited.Body)
	}

	for op := range doc.operations() {
		if !l.called[op] {
			t.Errorf("%s is documented but TestOpenAPIAnswers never calls it; add a call above", op)
		}
	}
}
