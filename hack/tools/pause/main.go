// pause: the pod sandbox's process for the local real node (the image localhost/subnetes/pause).
// It holds the pod's namespaces open, reaps the zombies it inherits as PID 1 of a pod with a
// shared PID namespace, and exits 0 on SIGTERM or SIGINT. Standard library only, built static
// (CGO_ENABLED=0) so the image needs nothing but this file.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Println("subnetes pause 3.10")
		return
	}
	// As PID 1 the kernel drops signals that have no handler, so every one we act on is caught.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		if sig == syscall.SIGCHLD {
			reap()
			continue
		}
		fmt.Fprintf(os.Stderr, "pause: %v, exiting\n", sig)
		os.Exit(0)
	}
}

// reap collects every exited child; SIGCHLDs coalesce, so one signal may stand for several.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
