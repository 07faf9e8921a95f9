package core

import (
	"net/http"
	"net/url"
	"strings"
)

// returnTo is the absolute URL of the original request, where Ory sends the user back after
// login. The origin comes from Config.AppURL when set, else from X-Forwarded-* when trusted,
// else from the request itself: then the client chooses the host, through the Host header or
// an absolute-form target (GET http://other.example/x, which net/http turns into the Host).
// That only affects the redirect of the client's own request, and Ory still checks return_to
// against selfservice.allowed_return_urls, but production apps should set AppURL. Only the
// path and query of the target are kept. It returns "" when no safe URL can be built (a Host
// net/http would refuse, such as "app@evil.example", included); Ory then uses its default
// return URL.
//
// A request with an unsafe method (a form's POST) is not where the user comes back to: the
// browser returns from Ory with a GET, which a POST-only route answers with 405 or 404, and
// the POST is not replayed. Its return_to is the page the form was on (a same-origin Referer),
// else the app's root.
func (v *Verifier) returnTo(r *Request) string {
	scheme, host := "http", r.Host
	if r.TLS {
		scheme = "https"
	}
	switch {
	case v.appURL != nil:
		scheme, host = v.appURL.Scheme, v.appURL.Host
	case v.trustFwd:
		if p := strings.ToLower(firstValue(r.ForwardedProto)); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstValue(r.ForwardedHost); h != "" {
			host = h
		}
	}
	if !validHost(host) {
		return ""
	}
	uri := r.URI
	if !safeMethod(r.Method) {
		uri = refererPage(r.Referer, scheme, host)
	}
	// ParseRequestURI reads "//x/y" as a path (as servers receive it), not as a host.
	target, err := url.ParseRequestURI(uri)
	if err != nil || uri == "" || uri == "*" {
		return ""
	}
	// A request target has no fragment: a "#" a raw client put in the query is data, and must
	// not become return_to's fragment.
	query := strings.ReplaceAll(target.RawQuery, "#", "%23")
	u := url.URL{Scheme: scheme, Host: host, Path: target.Path, RawPath: target.RawPath, RawQuery: query}
	if u.Path == "" {
		u.Path = "/"
	}
	if !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	// A huge target would make a huge Location header that Ory refuses anyway: keep the page
	// without its query, or let Ory use its default return URL.
	if s := u.String(); len(s) <= maxReturnToLen {
		return s
	}
	u.RawQuery = ""
	if s := u.String(); len(s) <= maxReturnToLen {
		return s
	}
	return ""
}

// safeMethod reports whether a browser can come back to the request's URL: a GET (or another
// safe method, RFC 9110 9.2.1) loads the same page again. "" is taken as GET, for adapters that
// leave the method out.
func safeMethod(m string) bool {
	switch m {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// refererPage is the path and query of referer when it is a page of the origin scheme://host
// (compared as browsers do, the host without case), else "/", the app's root: a foreign or
// missing Referer must not choose where the user lands.
func refererPage(referer, scheme, host string) string {
	u, err := url.Parse(referer)
	if err != nil || u.Opaque != "" || u.User != nil || !strings.EqualFold(u.Scheme, scheme) || !strings.EqualFold(u.Host, host) {
		return "/"
	}
	if p := u.RequestURI(); strings.HasPrefix(p, "/") {
		return p
	}
	return "/"
}

// maxReturnToLen bounds return_to; browsers and proxies commonly cap URLs near 8 KiB and the
// return_to is embedded (escaped) in Ory's URL.
const maxReturnToLen = 2048

// firstValue is the first entry of a comma-separated header added to by each proxy hop.
func firstValue(h string) string {
	v, _, _ := strings.Cut(h, ",")
	return strings.TrimSpace(v)
}

// validHost accepts host[:port] made of DNS name or IP characters only, so a hostile Host
// header cannot add a user, path or second host to return_to.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-:[]_", c) >= 0) {
			return false
		}
	}
	u, err := url.Parse("http://" + h + "/")
	return err == nil && u.Host == h && u.Hostname() != ""
}
