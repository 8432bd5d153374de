// Command gateway_standin stands in for the OpenFaaS gateway in front of one function, for the
// OpenFaaS nats-connector peer of the benchmarks (bench/peers/openfaas.py). Standard library only.
//
// What it stands in for: the three gateway routes the connector calls.
//   - GET /system/namespaces: the function namespace, ["openfaas-fn"].
//   - GET /system/functions?namespace=openfaas-fn: the function list in the gateway's
//     FunctionStatus shape (name, image, namespace, labels, annotations, replicas,
//     availableReplicas, createdAt), one function whose "topic" annotation is the subject.
//   - /function/<name>[.<namespace>][/<path>]: invocation, proxied to the function's URL (here
//     the bench's watcher) as the gateway does with direct_functions=true: one hop, the request
//     body streamed through, headers copied, X-Forwarded-For/-Host and X-Call-Id/X-Start-Time
//     added, the answer's status, headers and body copied back with X-Duration-Seconds. Its
//     client is a pooled keep-alive transport with the gateway's 120 ms idle-connection
//     timeout, so invocations reuse connections as they do through the real gateway.
//
// With -auth-dir (basic-auth-user and basic-auth-password files, the layout of the OpenFaaS
// basic-auth secret), /system/* asks for those credentials as a gateway with basic_auth=true
// does; /function/* stays open, as it is on the gateway.
//
// With -probe-topic, a second function "bench-probe" subscribes to that topic; the stand-in
// answers its invocations itself and prints "probed" on stdout the first time, so the bench
// knows the connector has discovered the functions without sending anything to the watcher.
//
// What it leaves out: everything else the gateway and its provider do. No Prometheus metrics
// per invocation, no scaling from zero or replica resolution (faas-netes), no asynchronous
// route (/async-function and its queue), no provider hop (direct_functions=false adds one), no
// logging per request, no UI or other API. A real OpenFaaS gateway therefore costs at least
// what this one does per invocation.
package main

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

const namespace = "openfaas-fn"
const probeName = "bench-probe"

type function struct {
	Name              string            `json:"name"`
	Image             string            `json:"image"`
	Namespace         string            `json:"namespace"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations"`
	Replicas          uint64            `json:"replicas"`
	AvailableReplicas uint64            `json:"availableReplicas"`
	CreatedAt         time.Time         `json:"createdAt"`
}

type gateway struct {
	name      string
	upstream  *url.URL
	functions []function
	client    *http.Client
	user      string
	password  string
	probed    sync.Once
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	upstream := flag.String("upstream", "", "the function's URL (required)")
	name := flag.String("function", "bench", "the function's name")
	topic := flag.String("topic", "", "the function's topic annotation (required)")
	probeTopic := flag.String("probe-topic", "", "topic of the bench-probe function (optional)")
	authDir := flag.String("auth-dir", "", "folder with basic-auth-user and basic-auth-password")
	timeout := flag.Duration("timeout", 60*time.Second, "upstream timeout")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if *upstream == "" || *topic == "" || err != nil || target.Host == "" {
		log.Fatalf("gateway_standin: -upstream (a URL) and -topic are required")
	}
	g := &gateway{name: *name, upstream: target, client: newClient(*timeout)}
	created := time.Now().UTC()
	g.functions = append(g.functions, describe(*name, *topic, created))
	if *probeTopic != "" {
		g.functions = append(g.functions, describe(probeName, *probeTopic, created))
	}
	if *authDir != "" {
		g.user, g.password = readSecret(*authDir, "basic-auth-user"), readSecret(*authDir, "basic-auth-password")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/system/namespaces", g.authenticated(g.namespaces))
	mux.HandleFunc("/system/functions", g.authenticated(g.list))
	mux.HandleFunc("/function/", g.invoke)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	server := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(server.ListenAndServe())
}

func describe(name, topic string, created time.Time) function {
	return function{
		Name:              name,
		Image:             "bench/" + name + ":latest",
		Namespace:         namespace,
		Labels:            map[string]string{"faas_function": name},
		Annotations:       map[string]string{"topic": topic},
		Replicas:          1,
		AvailableReplicas: 1,
		CreatedAt:         created,
	}
}

func readSecret(dir, name string) string {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		log.Fatalf("gateway_standin: %v", err)
	}
	return strings.TrimSpace(string(data))
}

func newClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: time.Second}).DialContext,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   1024,
			IdleConnTimeout:       120 * time.Millisecond,
			ExpectContinueTimeout: 1500 * time.Millisecond,
		},
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

func (g *gateway) authenticated(next http.HandlerFunc) http.HandlerFunc {
	if g.user == "" {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(g.user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(password), []byte(g.password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="Restricted"`)
			http.Error(w, "invalid credentials", http.StatusUnauthorized)
			return
		}
		next(w, r)
	}
}

func (g *gateway) namespaces(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	writeJSON(w, []string{namespace})
}

func (g *gateway) list(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if asked := r.URL.Query().Get("namespace"); asked != "" && asked != namespace {
		http.Error(w, fmt.Sprintf("namespace %q is not a function namespace", asked), http.StatusBadRequest)
		return
	}
	writeJSON(w, g.functions)
}

func writeJSON(w http.ResponseWriter, value any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(value); err != nil {
		log.Printf("gateway_standin: %v", err)
	}
}

func (g *gateway) invoke(w http.ResponseWriter, r *http.Request) {
	name, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/function/"), "/")
	name = strings.TrimSuffix(name, "."+namespace)
	switch name {
	case g.name:
	case probeName:
		_, _ = io.Copy(io.Discard, r.Body)
		g.probed.Do(func() { fmt.Println("probed") })
		w.WriteHeader(http.StatusOK)
		return
	default:
		http.Error(w, fmt.Sprintf("no endpoints available for: %s", name), http.StatusServiceUnavailable)
		return
	}
	started := time.Now()
	target := *g.upstream
	target.Path = strings.TrimSuffix(target.Path, "/") + "/" + rest
	target.RawQuery = r.URL.RawQuery
	request, err := http.NewRequestWithContext(r.Context(), r.Method, target.String(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	request.ContentLength = r.ContentLength
	for key, values := range r.Header {
		request.Header[key] = append([]string(nil), values...)
	}
	request.Header.Set("X-Forwarded-Host", r.Host)
	request.Header.Set("X-Forwarded-For", r.RemoteAddr)
	request.Header.Set("X-Call-Id", callID())
	request.Header.Set("X-Start-Time", fmt.Sprint(started.UnixNano()))
	response, err := g.client.Do(request)
	if err != nil {
		http.Error(w, fmt.Sprintf("can't reach service for: %s", name), http.StatusBadGateway)
		return
	}
	defer response.Body.Close()
	for key, values := range response.Header {
		w.Header()[key] = values
	}
	w.Header().Set("X-Duration-Seconds", fmt.Sprintf("%f", time.Since(started).Seconds()))
	w.WriteHeader(response.StatusCode)
	_, _ = io.Copy(w, response.Body)
}

func callID() string {
	var id [16]byte
	_, _ = rand.Read(id[:])
	return hex.EncodeToString(id[:])
}
