package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/alumnipass/alumnipass/internal/web/httpkit"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// withBody runs fn on a Fiber context holding a request body and type.
func withBody(t testing.TB, contentType, body string, fn func(c *fiber.Ctx)) {
	app := fiber.New()
	rc := &fasthttp.RequestCtx{}
	rc.Request.Header.SetContentType(contentType)
	rc.Request.SetBodyString(body)
	c := app.AcquireCtx(rc)
	defer app.ReleaseCtx(c)
	fn(c)
}

func TestCodeBody(t *testing.T) {
	code := "AP1:C123456ABC$%*+-./: 髙"
	for _, tc := range []struct {
		ct, body, want string
		ok             bool
	}{
		{"application/json", `{"code":"` + code + `"}`, code, true},
		{"Application/JSON; charset=utf-8", " \t\r\n{ \"code\" :\n\"X\" }\n", "X", true},
		{"application/json", `{"code":""}`, "", true},
		// Everything else goes to bindJSON.
		{"text/plain", `{"code":"X"}`, "", false},
		{"", `{"code":"X"}`, "", false},
		{"application/json", `{"code":"a\"b"}`, "", false},
		{"application/json", `{"code":"a\u0041"}`, "", false},
		{"application/json", "{\"code\":\"a\tb\"}", "", false},
		{"application/json", "{\"code\":\"\xff\"}", "", false},
		{"application/json", `{"code":"X","other":1}`, "", false},
		{"application/json", `{"code":"X"}{}`, "", false},
		{"application/json", `{"code":"X"`, "", false},
		{"application/json", `{"code":"X}`, "", false},
		{"application/json", `{"Code":"X"}`, "", false},
		{"application/json", `{"code":1}`, "", false},
		{"application/json", `["code","X"]`, "", false},
		{"application/json", `{"code":"` + strings.Repeat("A", httpkit.MaxJSONBody) + `"}`, "", false},
		{"application/json", ``, "", false},
	} {
		withBody(t, tc.ct, tc.body, func(c *fiber.Ctx) {
			got, ok := codeBody(c)
			if ok != tc.ok || got != tc.want {
				t.Errorf("codeBody(%q, %.40q) = %q, %v; want %q, %v", tc.ct, tc.body, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzCodeBody: whenever the fast path takes a body, encoding/json reads
// the same code from it and finds nothing else in it.
func FuzzCodeBody(f *testing.F) {
	for _, s := range []string{`{"code":"AP1:C1"}`, ` { "code" : "x" } `, `{"code":"a\"b"}`, `{"code":"x","y":1}`, `{"code":"\u00e9"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		withBody(t, "application/json", body, func(c *fiber.Ctx) {
			got, ok := codeBody(c)
			if !ok {
				return
			}
			var all map[string]any
			if err := json.Unmarshal([]byte(body), &all); err != nil {
				t.Fatalf("fast path took %q, which encoding/json refuses: %v", body, err)
			}
			if len(all) != 1 || all["code"] != got {
				t.Fatalf("fast path read %q from %q; encoding/json reads %v", got, body, all)
			}
		})
	})
}
