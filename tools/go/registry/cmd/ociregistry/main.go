// Command ociregistry serves go-containerregistry's registry with the OCI referrers API on,
// blobs on disk, and optional HTTP basic auth from an htpasswd (bcrypt) file.
//
// The kit needs a registry that implements the OCI 1.1 referrers API next to Debian's
// docker-registry (which does not). go-containerregistry's registry is the one such
// implementation the module proxy serves here; it has no auth of its own, so this wrapper
// adds the basic-auth challenge that real registries send.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
	"golang.org/x/crypto/bcrypt"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	disk := flag.String("disk", "", "directory for blobs (required)")
	htpasswd := flag.String("htpasswd", "", "bcrypt htpasswd file; empty means anonymous access")
	flag.Parse()
	if *disk == "" {
		log.Fatal("--disk is required")
	}
	users, err := loadHtpasswd(*htpasswd)
	if err != nil {
		log.Fatalf("--htpasswd: %v", err)
	}
	handler := registry.New(
		registry.WithReferrersSupport(true),
		registry.WithBlobHandler(registry.NewDiskBlobHandler(*disk)),
		registry.Logger(log.New(os.Stderr, "", log.LstdFlags)),
	)
	if users != nil {
		handler = basicAuth(users, handler)
	}
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "listening on %s\n", listener.Addr())
	log.Fatal(http.Serve(listener, handler))
}

func loadHtpasswd(path string) (map[string][]byte, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	users := map[string][]byte{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %q is not user:bcrypt-hash", line)
		}
		users[name] = []byte(hash)
	}
	return users, scanner.Err()
}

func basicAuth(users map[string][]byte, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, password, ok := r.BasicAuth()
		hash, known := users[name]
		// Compare against a fixed hash for unknown users so timing does not reveal names.
		if !known {
			hash = []byte("$2y$05$invalidinvalidinvalidinvalidinvalidinvalidinvalidinvali")
		}
		valid := ok && bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
		if !valid || !known {
			w.Header().Set("WWW-Authenticate", `Basic realm="wasmgate-kit"`)
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`,
				http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
