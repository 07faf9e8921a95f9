package orymfa

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/valyala/fasthttp"

	"github.com/orymfa/orymfa/core"
)

// request collects the facts the core reads. fasthttp reuses its buffers for the next request
// once the handler returns, so a string aliasing them must not outlive this one.
//
// No field is copied: the core reads them only during Check, copies the credential itself
// before handing it to a whoami call that may outlive the request (on a cache miss only), and
// builds everything it keeps or returns (ReturnTo, RedirectTo, Header, Body, Err) fresh.
//
// Host is the raw Host header, as net/http's r.Host is: not c.Hostname, which trusts
// X-Forwarded-Host by default, nor fasthttp's parsed URI host, which turns "app@evil.example"
// (a Host net/http refuses) into "evil.example". The core refuses such a host for return_to
// and uses the forwarded headers only when configured to.
func request(c *fiber.Ctx) core.Request {
	fc := c.Context()
	h := &fc.Request.Header
	r := core.Request{
		Method: c.Method(),
		URI:    utils.UnsafeString(h.RequestURI()), // c.OriginalURL() without Immutable's copy
		Host:   utils.UnsafeString(h.Host()),
		TLS:    fc.IsTLS(),
	}
	cookies := h.PeekAll(fiber.HeaderCookie)
	if len(cookies) == 0 {
		// One pass over every header finds the rest (and a "cookie" the app's disabled name
		// normalizing left in the client's case).
		allHeaders(h, &r)
		return r
	}
	// The Cookie headers as received, several staying several: h.VisitAll would make fasthttp
	// parse and re-serialize every cookie first, about a microsecond for a browser's, and the
	// core picks the Ory cookie out itself. The other headers one by one, then.
	r.Cookie = utils.UnsafeString(cookies[0])
	for _, v := range cookies[1:] {
		r.MoreCookies = append(r.MoreCookies, utils.UnsafeString(v))
	}
	r.SessionToken = utils.UnsafeString(h.Peek("X-Session-Token"))
	r.Authorization = utils.UnsafeString(h.Peek(fiber.HeaderAuthorization))
	r.Accept = utils.UnsafeString(h.Peek(fiber.HeaderAccept))
	r.ForwardedHost = utils.UnsafeString(h.Peek(fiber.HeaderXForwardedHost))
	r.ForwardedProto = utils.UnsafeString(h.Peek(fiber.HeaderXForwardedProto))
	return r
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
