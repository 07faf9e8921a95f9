package orymfa

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/valyala/fasthttp"

	"github.com/orymfa/orymfa/core"
)

// request collects the credential facts the core reads on every request; the rest (method,
// target, Host, Accept, Referer, forwarded headers) only a denial needs, and [details] reads them then.
// fasthttp reuses its buffers for the next request once the handler returns, so a string
// aliasing them must not outlive this one.
//
// No field is copied: the core reads them only during Check, copies the credential itself
// before handing it to a whoami call that may outlive the request (on a cache miss only), and
// builds everything it keeps or returns (ReturnTo, RedirectTo, Header, Body, Err) fresh.
func request(c *fiber.Ctx) core.Request {
	fc := c.Context()
	h := &fc.Request.Header
	r := core.Request{Details: (*details)(fc)}
	cookies := h.PeekAll(fiber.HeaderCookie)
	if len(cookies) == 0 {
		// One pass over every header finds the rest (and a "cookie" the app's disabled name
		// normalizing left in the client's case).
		allHeaders(h, &r)
		return r
	}
	// The Cookie headers as received, several staying several: a pass over all headers would
	// make fasthttp parse and re-serialize every cookie first, about a microsecond for a
	// browser's, and the core picks the Ory cookie out itself.
	r.Cookie = utils.UnsafeString(cookies[0])
	for _, v := range cookies[1:] {
		r.MoreCookies = append(r.MoreCookies, utils.UnsafeString(v))
	}
	r.SessionToken = utils.UnsafeString(h.Peek("X-Session-Token"))
	r.Authorization = utils.UnsafeString(h.Peek(fiber.HeaderAuthorization))
	return r
}

// details reads the facts a denial needs from the request, when the core asks (during Check).
//
// Host is the raw Host header, as net/http's r.Host is: not fiber's Hostname, which trusts
// X-Forwarded-Host when the app trusts proxies, nor fasthttp's parsed URI host, which turns
// "app@evil.example" (a Host net/http refuses) into "evil.example". The core refuses such a
// host for return_to and uses the forwarded headers only when configured to.
type details fasthttp.RequestCtx

// FillDetails implements core.RequestDetails.
func (d *details) FillDetails(r *core.Request) {
	fc := (*fasthttp.RequestCtx)(d)
	h := &fc.Request.Header
	r.Method = utils.UnsafeString(h.Method())
	r.URI = utils.UnsafeString(h.RequestURI())
	r.Host = utils.UnsafeString(h.Host())
	r.TLS = fc.IsTLS()
	if r.Accept == "" {
		r.Accept = utils.UnsafeString(h.Peek(fiber.HeaderAccept))
	}
	if r.Referer == "" {
		r.Referer = utils.UnsafeString(h.Peek(fiber.HeaderReferer))
	}
	if r.ForwardedHost == "" {
		r.ForwardedHost = utils.UnsafeString(h.Peek(fiber.HeaderXForwardedHost))
	}
	if r.ForwardedProto == "" {
		r.ForwardedProto = utils.UnsafeString(h.Peek(fiber.HeaderXForwardedProto))
	}
}

// allHeaders fills r's header fields in one pass over every header, names compared
// case-insensitively.
func allHeaders(h *fasthttp.RequestHeader, r *core.Request) {
	h.VisitAll(func(k, v []byte) {
		switch len(k) {
		case len("Cookie"): // and Accept
			switch {
			case is(k, "Cookie") && r.Cookie == "": // fasthttp joins several into one here
				r.Cookie = utils.UnsafeString(v)
			case is(k, "Accept") && r.Accept == "":
				r.Accept = utils.UnsafeString(v)
			}
		case len("Referer"):
			if r.Referer == "" && is(k, "Referer") {
				r.Referer = utils.UnsafeString(v)
			}
		case len("Authorization"):
			if r.Authorization == "" && is(k, "Authorization") {
				r.Authorization = utils.UnsafeString(v)
			}
		case len("X-Session-Token"):
			if r.SessionToken == "" && is(k, "X-Session-Token") {
				r.SessionToken = utils.UnsafeString(v)
			}
		case len("X-Forwarded-Host"):
			if r.ForwardedHost == "" && is(k, "X-Forwarded-Host") {
				r.ForwardedHost = utils.UnsafeString(v)
			}
		case len("X-Forwarded-Proto"):
			if r.ForwardedProto == "" && is(k, "X-Forwarded-Proto") {
				r.ForwardedProto = utils.UnsafeString(v)
			}
		}
	})
}

// is compares a header name case-insensitively.
func is(name []byte, want string) bool { return utils.EqualFold(utils.UnsafeString(name), want) }
