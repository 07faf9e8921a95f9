package core

import (
	"net/http"
)

// Request holds the facts about an incoming request that the core reads. It is a plain struct
// rather than an *http.Request because fiber (fasthttp) has none; adapters on net/http fill it
// with [RequestFromHTTP].
//
// The credential fields are read for every request; the others only to render a denial, so
// an adapter may leave them to [Request.Details] and spare allowed requests the header reads.
type Request struct {
	// Cookie is the raw Cookie header.
	Cookie string
	// MoreCookies are further Cookie headers, if the client sent several (HTTP/2 clients may
	// send one per cookie).
	MoreCookies []string
	// SessionToken is the X-Session-Token header.
	SessionToken string
	// Authorization is the Authorization header ("Bearer <session token>" is understood).
	Authorization string

	// Method is the HTTP method, e.g. GET.
	Method string
	// URI is the request target as received: a path with an optional query ("/a?b=c"), or an
	// absolute URL. Only its path and query are used to build return_to.
	URI string
	// Host is the Host header (host[:port]) as the client sent it.
	Host string
	// TLS reports whether the request arrived over TLS.
	TLS bool
	// Accept is the Accept header; browsers navigating ask for text/html.
	Accept string
	// Referer is the Referer header: for a request with an unsafe method (a form's POST), the
	// page to come back to after Ory's flow.
	Referer string
	// ForwardedProto and ForwardedHost are X-Forwarded-Proto and X-Forwarded-Host; they are
	// used only when [Config.TrustForwardedHeaders] is set.
	ForwardedProto string
	ForwardedHost  string

	// Details, when set, fills in the fields above (from Method on) the first time a denial
	// needs them; an allowed request never calls it. Adapters pass a pointer converted to a
	// named type (as RequestFromHTTP does), which costs no allocation.
	Details RequestDetails
}

// RequestDetails fills in the facts only a denial reads: Method, URI, Host, TLS, Accept,
// Referer and the forwarded headers. It is called at most once per check, during [Guard.Check], so it
// may read from buffers that live only as long as the request (fasthttp's).
type RequestDetails interface {
	FillDetails(r *Request)
}

// RequestFromHTTP collects the request facts from a net/http request. Only the credential
// headers are read now; the rest is read from r if the request is denied.
func RequestFromHTTP(r *http.Request) Request {
	h := r.Header
	req := Request{
		SessionToken:  header(h, "X-Session-Token"),
		Authorization: header(h, "Authorization"),
		Details:       (*httpDetails)(r),
	}
	if c := h["Cookie"]; len(c) > 0 {
		req.Cookie, req.MoreCookies = c[0], c[1:]
	}
	return req
}

// details fills in the facts a denial needs, once. Details gets a copy: a pointer passed to an
// interface method escapes to the heap, and this way only a denial pays for it, never the
// Request that every allowed request builds.
func (r *Request) details() {
	if d := r.Details; d != nil {
		facts := *r
		facts.Details = nil
		d.FillDetails(&facts)
		*r = facts
	}
}

// httpDetails reads a denial's facts from a net/http request.
type httpDetails http.Request

// FillDetails reads the facts only a denial needs.
func (d *httpDetails) FillDetails(r *Request) {
	hr := (*http.Request)(d)
	uri := hr.RequestURI // the target as the client sent it, even under http.StripPrefix
	if uri == "" {
		uri = hr.URL.RequestURI()
	}
	h := hr.Header
	r.Method, r.URI, r.Host, r.TLS = hr.Method, uri, hr.Host, hr.TLS != nil
	r.Accept = header(h, "Accept")
	r.Referer = header(h, "Referer")
	r.ForwardedProto = header(h, "X-Forwarded-Proto")
	r.ForwardedHost = header(h, "X-Forwarded-Host")
}

// header reads a header by its canonical key: http.Header.Get would canonicalise the key on
// every call, which shows up on the cached path.
func header(h http.Header, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}
