package wasmhost

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

const fileScheme = "file://"

// readGuest returns the guest binary named by a guestURL.
func readGuest(ctx context.Context, url string) ([]byte, error) {
	scheme, _, found := strings.Cut(url, ":")
	if !found {
		return nil, fmt.Errorf("invalid URL: %s", url)
	}
	switch scheme {
	case "file":
		// Upstream strips the scheme and reads the rest as a path, which keeps
		// file://relative/path.wasm working; do the same.
		if !strings.HasPrefix(url, fileScheme) {
			return nil, fmt.Errorf("invalid file URL %s: want file://<path>", url)
		}
		return os.ReadFile(strings.TrimPrefix(url, fileScheme))
	case "http", "https":
		return httpGet(ctx, url)
	default:
		return nil, fmt.Errorf("unsupported URL scheme: %s", scheme)
	}
}

func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("received %d status code from %q", resp.StatusCode, url)
	}
	return io.ReadAll(resp.Body)
}
