package orymfa

import (
	"reflect"
	"unsafe"

	"github.com/gofiber/fiber/v2"
)

// fiber v2 offers no way to abort a handler chain (gin has c.Abort; fiber v3's Ctx is an
// interface whose Next a wrapper can override): c.Next() runs the route's next handler or the
// next matching route. So that a deny handler calling c.Next() cannot reach the protected
// route, stopChain moves the request's place in both past their ends before the deny handler
// runs: fiber then answers c.Next() as at the end of any chain, with its 404 error, and runs
// nothing. The two unexported counters are found by name and type when the package loads;
// should a fiber v2 release rename them, the guards refuse to build ([errNoStop]) rather than
// let a deny handler run the route.
var (
	indexRoute, routeOK     = ctxIntField("indexRoute")
	indexHandler, handlerOK = ctxIntField("indexHandler")
)

// past is far beyond any route stack or handler list, and far from overflowing however often
// a deny handler calls c.Next() (each call adds one to the handler counter).
const past = 1 << 40

const errNoStop = "orymfa: this fiber v2 release has no Ctx.indexRoute and Ctx.indexHandler: the adapter cannot stop the chain before a deny handler"

func ctxIntField(name string) (uintptr, bool) {
	f, ok := reflect.TypeFor[fiber.Ctx]().FieldByName(name)
	return f.Offset, ok && f.Type.Kind() == reflect.Int
}

// stopChain makes c.Next() run nothing more on this request.
func stopChain(c *fiber.Ctx) {
	p := unsafe.Pointer(c)
	*(*int)(unsafe.Add(p, indexRoute)) = past
	*(*int)(unsafe.Add(p, indexHandler)) = past
}
