package core

import (
	"net/http"
	"strings"
)

// Request holds the facts about an incoming request that the core reads. It is a plain struct
// rather than an *http.Request because fiber (fasthttp) has none; adapters on net/http fill it
// with [RequestFromHTTP].
type Request struct {
	// Method is the HTTP method, e.g. GET.
	Method string
	// URI is the request target as received: a path with an optional query ("/a?b=c"), or an
	// absolute URL. Only its path and query are used to build return_to.
	URI string
	// Host is the Host header (host[:port]).
	Host string
	// TLS reports whether the request arrived over TLS.
	TLS bool
	// Cookie is the raw Cookie header (several headers joined with "; ").
	Cookie string
	// SessionToken is the X-Session-Token header.
	SessionToken string
	// Authorization is the Authorization header ("Bearer <session token>" is understood).
	Authorization string
	// Accept is the Accept header; browsers navigating ask for text/html.
	Accept string
	// ForwardedProto and ForwardedHost are X-Forwarded-Proto and X-Forwarded-Host; they are
	// used only when [Config.TrustForwardedHeaders] is set.
	ForwardedProto string
	ForwardedHost  string
}

// RequestFromHTTP collects the request facts from a net/http request.
func RequestFromHTTP(r *http.Request) Request {
	uri := r.RequestURI // the target as the client sent it, even under http.StripPrefix
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	h := r.Header
	return Request{
		Method:         r.Method,
		URI:            uri,
		Host:           r.Host,
		TLS:            r.TLS != nil,
		Cookie:         joinCookies(h["Cookie"]),
		SessionToken:   header(h, "X-Session-Token"),
		Authorization:  header(h, "Authorization"),
		Accept:         header(h, "Accept"),
		ForwardedProto: header(h, "X-Forwarded-Proto"),
		ForwardedHost:  header(h, "X-Forwarded-Host"),
	}
}

// header reads a header by its canonical key: http.Header.Get would canonicalise the key on
// every call, which shows up on the cached path.
func header(h http.Header, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// joinCookies joins several Cookie headers (HTTP/2 sends one per cookie); one is returned as is.
func joinCookies(v []string) string {
	if len(v) == 1 {
		return v[0]
	}
	return strings.Join(v, "; ")
}
