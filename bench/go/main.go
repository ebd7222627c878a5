// Strangler-fig reverse proxy as such proxies are usually written in Go: net/http/httputil
// ReverseProxy in front of one upstream. Used only by bench/proxy.py as the yardstick.
//
//	go build -o bench/bin/goproxy ./bench/go
//	goproxy -listen 127.0.0.1:9000 -target http://127.0.0.1:9001 -transport default|tuned
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to listen on")
	target := flag.String("target", "http://127.0.0.1:8080", "upstream base URL")
	transport := flag.String("transport", "default", "default | tuned (512 idle connections per host)")
	flag.Parse()

	upstream, err := url.Parse(*target)
	if err != nil {
		log.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	if *transport == "tuned" {
		proxy.Transport = &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 512,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   false,
		}
	}
	log.Printf("goproxy (%s transport) %s -> %s", *transport, *listen, *target)
	log.Fatal(http.ListenAndServe(*listen, proxy))
}
