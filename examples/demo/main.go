// Command demo runs one orymfa example app together with everything it needs, so a person can
// click through registration, a protected page and the step-up to a second factor:
//
//   - Ory Kratos (in-memory database) on 127.0.0.1:4433 (public) and 127.0.0.1:4434 (admin),
//     with passwords, one-time codes by email as second factor, TOTP and backup codes;
//   - a minimal self-service UI for Kratos's browser flows under /ui/ and a dev mailbox
//     (/ui/mailbox) that shows the emails Kratos sends, codes included (they are printed to
//     the terminal too);
//   - the chosen example app (examples/<framework>), reached at http://127.0.0.1:4455/.
//
// The UI and the app share one origin: the demo serves /ui/ itself and forwards every other
// request to the example, which runs as its own process on a free loopback port, exactly as a
// reader would run it (ORY_SDK_URL and ADDR set).
//
// Run it with scripts/demo.sh [nethttp|chi|gin|echo|fiber]. Ctrl-C stops everything.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.framework, "framework", "nethttp", "example to run: nethttp, chi, gin, echo or fiber")
	flag.StringVar(&o.addr, "addr", "127.0.0.1:4455", "address of the app and the login UI")
	flag.StringVar(&o.kratosPublic, "kratos-public", "127.0.0.1:4433", "address of Kratos's public API")
	flag.StringVar(&o.kratosAdmin, "kratos-admin", "127.0.0.1:4434", "address of Kratos's admin API")
	flag.StringVar(&o.kratosBin, "kratos", "", "Kratos binary (default: $ORYMFA_KRATOS_BIN or scripts/build-kratos.sh)")
	flag.StringVar(&o.appBin, "app", "", "prebuilt example binary (default: go build the example)")
	flag.Parse()
	o.log = os.Stdout

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	d, err := start(startCtx, o)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(o.log, "\nstopping…")
	case err := <-d.failed:
		fmt.Fprintln(os.Stderr, "demo:", err)
		d.Close()
		os.Exit(1)
	}
	d.Close()
	fmt.Fprintln(o.log, "stopped Kratos, the app and the UI")
}
