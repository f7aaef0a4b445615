// go_hello: the dynamic "hello" route served by Go's net/http (Debian's golang-go), the peer
// sockit's examples/http_hello is compared with in bench/http_bench.sh. Standard library only,
// so `go build go_hello.go` works offline.
//
// GET /hello answers 200 "hello world\n" (text/plain, 12 bytes); anything else 404 (the
// default mux). No access log. Workers: GOMAXPROCS (the harness sets it to the worker count).
//
// Usage: go_hello PORT      (PORT 0 picks a free port). Binds 127.0.0.1, prints
// "listening on 127.0.0.1:PORT" on stderr once it accepts; exits 0 on SIGTERM or SIGINT.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

var hello = []byte("hello world\n")

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go_hello PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_hello:", err)
		os.Exit(1)
	}
	http.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		os.Exit(0)
	}()
	fmt.Fprintf(os.Stderr, "listening on %s\n", ln.Addr())
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, "go_hello:", err)
		os.Exit(1)
	}
}
