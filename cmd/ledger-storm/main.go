// Command ledger-storm replays the 2019 promotion stampede against the
// ledger and measures what it does to routine traffic, bulkheads on and
// off. Run "ledger-storm -h" for its flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/corebanking/ledger/internal/storm"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := storm.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
