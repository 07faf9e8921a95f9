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
