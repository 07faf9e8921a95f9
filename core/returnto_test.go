package core

import (
	"net/url"
	"strings"
	"testing"
)

func TestReturnTo(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		req  Request
		want string
	}{
		{"request host and path", Config{}, Request{Host: "app.example:8080", URI: "/a/b?x=1&y=%2F"}, "http://app.example:8080/a/b?x=1&y=%2F"},
		{"tls", Config{}, Request{Host: "app.example", URI: "/", TLS: true}, "https://app.example/"},
		{"configured origin wins over Host", Config{AppURL: "https://shop.example"}, Request{Host: "evil.example", URI: "/pay"}, "https://shop.example/pay"},
		{"forwarded headers ignored unless trusted", Config{}, Request{Host: "app:80", URI: "/p", ForwardedHost: "evil.example", ForwardedProto: "https"}, "http://app:80/p"},
		{"forwarded headers when trusted", Config{TrustForwardedHeaders: true}, Request{Host: "10.0.0.1", URI: "/p", ForwardedHost: "shop.example, proxy", ForwardedProto: "https"}, "https://shop.example/p"},
		{"absolute-form target cannot choose the host", Config{}, Request{Host: "app", URI: "http://evil.example/steal?q=1"}, "http://app/steal?q=1"},
		{"protocol-relative path stays on the host", Config{}, Request{Host: "app", URI: "//evil.example/x"}, "http://app//evil.example/x"},
		{"hostile Host header", Config{}, Request{Host: "evil.example/@x", URI: "/"}, ""},
		{"Host with user info", Config{}, Request{Host: "user@evil.example", URI: "/"}, ""},
		{"empty Host", Config{}, Request{URI: "/"}, ""},
		{"asterisk target", Config{}, Request{Host: "app", URI: "*"}, ""},
		{"huge query is dropped", Config{}, Request{Host: "app", URI: "/p?q=" + strings.Repeat("a", 5000)}, "http://app/p"},
		{"huge path gives no return_to", Config{}, Request{Host: "app", URI: "/" + strings.Repeat("a", 5000)}, ""},
		// A browser comes back from Ory with a GET: an unsafe method's URL (a form's POST
		// target) would answer 405 or 404, so the user goes back to the form's page.
		{"GET comes back to itself", Config{}, Request{Method: "GET", Host: "app", URI: "/transfer", Referer: "http://app/form"}, "http://app/transfer"},
		{"HEAD comes back to itself", Config{}, Request{Method: "HEAD", Host: "app", URI: "/transfer"}, "http://app/transfer"},
		{"POST goes back to the form's page", Config{}, Request{Method: "POST", Host: "app", URI: "/transfer", Referer: "http://APP/form?to=bob#top"}, "http://app/form?to=bob"},
		{"POST with AppURL", Config{AppURL: "https://shop.example"}, Request{Method: "POST", Host: "internal", URI: "/transfer", Referer: "https://shop.example/pay/form"}, "https://shop.example/pay/form"},
		{"POST from another origin goes to the app's root", Config{}, Request{Method: "POST", Host: "app", URI: "/transfer", Referer: "http://evil.example/form"}, "http://app/"},
		{"POST from another scheme", Config{}, Request{Method: "POST", Host: "app", URI: "/transfer", TLS: true, Referer: "http://app/form"}, "https://app/"},
		{"POST from the app's host behind another's user info", Config{}, Request{Method: "POST", Host: "app", URI: "/transfer", Referer: "http://user@app/form"}, "http://app/"},
		{"POST without a Referer", Config{}, Request{Method: "POST", Host: "app", URI: "/transfer?x=1"}, "http://app/"},
		{"DELETE", Config{}, Request{Method: "DELETE", Host: "app", URI: "/item/1", Referer: "http://app/items"}, "http://app/items"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.SDKURL = "http://ory.example"
			v := MustNew(tc.cfg)
			if got := v.returnTo(&tc.req); got != tc.want {
				t.Fatalf("returnTo = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFlowURLs(t *testing.T) {
	v := MustNew(Config{SDKURL: "https://ory.example/"})
	rt := "https://app.example/pay?x=1"
	for _, tc := range []struct {
		out     Outcome
		require Requirement
		want    string
	}{
		{Login, RequireAAL2, "https://ory.example/self-service/login/browser?return_to=" + url.QueryEscape(rt)},
		{StepUp, RequireSession, "https://ory.example/self-service/login/browser?aal=aal2&return_to=" + url.QueryEscape(rt)},
		{Refresh, RequireAAL2, "https://ory.example/self-service/login/browser?refresh=true&aal=aal2&return_to=" + url.QueryEscape(rt)},
		{Refresh, RequireSession, "https://ory.example/self-service/login/browser?refresh=true&return_to=" + url.QueryEscape(rt)},
		{Enroll, RequireAAL2, "https://ory.example/self-service/settings/browser?return_to=" + url.QueryEscape(rt)},
	} {
		if got := v.flowURL(tc.out, tc.require, rt); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.out, got, tc.want)
		}
	}
	if got := v.flowURL(Login, RequireSession, ""); got != "https://ory.example/self-service/login/browser" {
		t.Errorf("without return_to: %q", got)
	}
}
