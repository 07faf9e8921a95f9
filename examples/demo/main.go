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
	o.register(flag.CommandLine)
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

// register defines the demo's flags on fs. scripts/demo.sh prints its own copy of them for
// -h (without building anything); TestDemoScriptHelp keeps the two in step.
func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.framework, "framework", "nethttp", "example to run: nethttp, chi, gin, echo, echov5, fiber or fiberv3")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:4455", "address of the app and the login UI, on the host of -kratos-public (Kratos's session cookie is set for it)")
	fs.StringVar(&o.kratosPublic, "kratos-public", "127.0.0.1:4433", "address of Kratos's public API")
	fs.StringVar(&o.kratosAdmin, "kratos-admin", "127.0.0.1:4434", "address of Kratos's admin API")
	fs.StringVar(&o.kratosBin, "kratos", "", "Kratos binary (default: $ORYMFA_KRATOS_BIN or scripts/build-kratos.sh)")
	fs.StringVar(&o.appBin, "app", "", "prebuilt example binary (default: go build the example)")
	fs.Var((*originList)(&o.allowOrigins), "allow-origin",
		"another app origin Kratos may send browsers back to (return_to), e.g. http://127.0.0.1:8080 for your own app run with ORY_SDK_URL set to Kratos's public URL; repeat the flag or separate origins with commas")
}
