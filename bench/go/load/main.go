// Open-loop load generator for bench/proxy.py: GETs at a fixed rate over keep-alive
// connections, latency measured from each request's scheduled start (so a stall also counts
// against the requests that should have been sent during it), printed as JSON.
//
//	go build -o bench/bin/goload ./bench/go/load
//	goload -url http://127.0.0.1:8000/api/movies -rate 1000 -duration 10s [-header "Authorization: Bearer …"]
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	target := flag.String("url", "http://127.0.0.1:8000/", "URL to GET")
	rate := flag.Int("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	conns := flag.Int("connections", 64, "keep-alive connections")
	header := flag.String("header", "", "one extra request header, \"Name: value\"")
	flag.Parse()

	request, err := http.NewRequest(http.MethodGet, *target, nil)
	if err != nil {
		log.Fatal(err)
	}
	if name, value, ok := strings.Cut(*header, ":"); ok {
		request.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: *conns, MaxIdleConnsPerHost: *conns,
		MaxConnsPerHost: *conns, IdleConnTimeout: time.Minute}, Timeout: 10 * time.Second}
	total := int(float64(*rate) * duration.Seconds())
	latencies := make([]float64, total)
	errors := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(*rate)
	start := time.Now()
	for i := 0; i < total; i++ {
		scheduled := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(scheduled))
		wg.Add(1)
		go func(i int, scheduled time.Time) {
			defer wg.Done()
			resp, err := client.Do(request.Clone(request.Context()))
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = io.ErrUnexpectedEOF
				}
			}
			latencies[i] = float64(time.Since(scheduled).Microseconds()) / 1000
			if err != nil {
				mu.Lock()
				errors++
				mu.Unlock()
			}
		}(i, scheduled)
	}
	wg.Wait()
	sort.Float64s(latencies)
	pct := func(p float64) float64 { return latencies[int(float64(len(latencies)-1)*p)] }
	out := map[string]float64{"requests": float64(total), "errors": float64(errors), "p50": pct(0.50),
		"p90": pct(0.90), "p99": pct(0.99), "p999": pct(0.999), "max": latencies[len(latencies)-1]}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		log.Fatal(err)
	}
}
