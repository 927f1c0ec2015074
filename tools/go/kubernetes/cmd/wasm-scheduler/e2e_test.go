//go:build kite2e

// End to end: the wasm-scheduler binary against a real etcd and kube-apiserver, with a WAT guest
// deciding where pods land. Needs the kit's binaries; run with
//
//	WASMGATE_ETCD=.../etcd WASMGATE_KUBE_APISERVER=.../kube-apiserver \
//	  GOFLAGS=-mod=mod go test -tags kite2e -v ./cmd/wasm-scheduler/
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const e2eToken = "kit-e2e-token"

func TestE2EWasmFilterDecidesPlacement(t *testing.T) {
	cluster := startCluster(t)
	client := cluster.client(t)
	ctx := context.Background()
	for _, name := range []string{"worker-1-plain", "worker-2-wasm", "worker-3-plain"} {
		createReadyNode(t, client, name)
	}
	scheduler := buildScheduler(t)
	config := cluster.schedulerConfig(t, guestPath(t, "filter_node_suffix"), "-wasm")
	run := startProcess(t, "wasm-scheduler", scheduler, "--config="+config, "--secure-port=0")

	start := time.Now()
	for i := range 5 {
		pod := &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-%d", i), Namespace: "default"},
			Spec: v1.PodSpec{
				SchedulerName:                "wasmgate-scheduler",
				AutomountServiceAccountToken: ptr(false),
				Containers:                   []v1.Container{{Name: "c", Image: "registry.local/app:1"}},
			},
		}
		if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	placed := map[string]string{}
	waitFor(t, 60*time.Second, func() (bool, string) {
		pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, p := range pods.Items {
			placed[p.Name] = p.Spec.NodeName
		}
		for _, node := range placed {
			if node == "" {
				return false, fmt.Sprintf("placements %v; scheduler log tail:\n%s", placed, run.tail())
			}
		}
		return len(placed) == 5, fmt.Sprintf("placements %v", placed)
	})
	t.Logf("5 pods bound in %v", time.Since(start).Round(time.Millisecond))
	for pod, node := range placed {
		if node != "worker-2-wasm" {
			t.Errorf("%s landed on %s, want worker-2-wasm (the only node the guest admits)", pod, node)
		}
	}
	if !strings.Contains(run.output(), `"node name lacks the configured suffix" plugin="nodesuffix"`) {
		t.Errorf("the guest's klog message is not in the scheduler log")
	}
}

// A guest the scheduler cannot load makes it exit non-zero, naming the plugin and the cause.
func TestE2EUnloadableGuestStopsTheScheduler(t *testing.T) {
	cluster := startCluster(t)
	scheduler := buildScheduler(t)
	tests := []struct{ guest, want string }{
		{"no_memory", "wasm: guest doesn't export memory[memory]"},
		{"start_traps", "start failed on purpose"},
		{"filter_wrong_signature", "wrong signature for func[filter]"},
	}
	for _, tc := range tests {
		t.Run(tc.guest, func(t *testing.T) {
			config := cluster.schedulerConfig(t, guestPath(t, tc.guest), "")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, scheduler, "--config="+config, "--secure-port=0").CombinedOutput()
			exit, ok := err.(*exec.ExitError)
			if !ok || exit.ExitCode() == 0 {
				t.Fatalf("scheduler ended with %v, want a non-zero exit; output:\n%s", err, out)
			}
			for _, want := range []string{`initializing plugin \"nodesuffix\"`, tc.want} {
				if !bytes.Contains(out, []byte(want)) && !bytes.Contains(out, []byte(strings.ReplaceAll(want, `\"`, `"`))) {
					t.Errorf("output does not contain %q:\n%s", want, out)
				}
			}
		})
	}
}

type cluster struct {
	dir, kubeconfig, server string
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	etcd, apiserver := requiredEnv(t, "WASMGATE_ETCD"), requiredEnv(t, "WASMGATE_KUBE_APISERVER")
	dir := t.TempDir()
	etcdURL := "http://" + freeAddr(t)
	startProcess(t, "etcd", etcd, "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls=http://"+freeAddr(t))

	saKey := filepath.Join(dir, "sa.key")
	writeRSAKey(t, saKey)
	tokens := filepath.Join(dir, "tokens.csv")
	writeFile(t, tokens, e2eToken+",kit-admin,kit-admin,system:masters\n")
	_, port, _ := net.SplitHostPort(freeAddr(t))
	c := &cluster{dir: dir, server: "https://127.0.0.1:" + port}
	startProcess(t, "kube-apiserver", apiserver, "--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--secure-port="+port, "--cert-dir="+filepath.Join(dir, "certs"),
		"--token-auth-file="+tokens, "--authorization-mode=RBAC",
		"--service-account-key-file="+saKey, "--service-account-signing-key-file="+saKey,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=10.96.0.0/16")
	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	writeFile(t, c.kubeconfig, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: kit, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: kit, context: {cluster: kit, user: admin}}]
current-context: kit
`, c.server, e2eToken))

	client := c.client(t)
	waitFor(t, 90*time.Second, func() (bool, string) {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
		return err == nil, fmt.Sprintf("readyz: %s %v", body, err)
	})
	// Pods need their service account; no controller-manager runs here to create it.
	waitFor(t, 30*time.Second, func() (bool, string) {
		sa := &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "default"}}
		_, err := client.CoreV1().ServiceAccounts("default").Create(context.Background(), sa, metav1.CreateOptions{})
		return err == nil, fmt.Sprintf("creating the default service account: %v", err)
	})
	return c
}

func (c *cluster) client(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	client, err := kubernetes.NewForConfig(&rest.Config{
		Host: c.server, BearerToken: e2eToken, TLSClientConfig: rest.TLSClientConfig{Insecure: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func (c *cluster) schedulerConfig(t *testing.T, guest, guestConfig string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scheduler.yaml")
	writeFile(t, path, fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection: {kubeconfig: %q}
leaderElection: {leaderElect: false}
profiles:
- schedulerName: wasmgate-scheduler
  plugins:
    multiPoint:
      enabled: [{name: nodesuffix}]
  pluginConfig:
  - name: nodesuffix
    args: {guestURL: %q, guestConfig: %q}
`, c.kubeconfig, "file://"+guest, guestConfig))
	return path
}

// createReadyNode registers a node as a kubelet would, then lifts the not-ready taint the
// apiserver adds (no node controller runs here).
func createReadyNode(t *testing.T, client *kubernetes.Clientset, name string) {
	t.Helper()
	ctx := context.Background()
	capacity := v1.ResourceList{
		v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi"),
		v1.ResourcePods: resource.MustParse("110"),
	}
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: v1.NodeStatus{Capacity: capacity, Allocatable: capacity, Conditions: []v1.NodeCondition{
			{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady"},
		}},
	}
	created, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Spec.Taints = nil
	if _, err := client.CoreV1().Nodes().Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// buildScheduler builds this command (from the Go build cache after the first time).
func buildScheduler(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "wasm-scheduler")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building wasm-scheduler: %v\n%s", err, b)
	}
	return out
}

func guestPath(t *testing.T, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "wasmhost", "testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// process is a child started by the test and stopped at its end.
type process struct {
	out *lockedBuffer
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (p *process) output() string { return p.out.String() }

func (p *process) tail() string {
	lines := strings.Split(strings.TrimSpace(p.out.String()), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

func startProcess(t *testing.T, name, bin string, args ...string) *process {
	t.Helper()
	p := &process{out: &lockedBuffer{}}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", name, p.tail())
		}
	})
	return p
}

// waitFor polls until check holds, failing with what it last saw at the deadline.
func waitFor(t *testing.T, timeout time.Duration, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, seen := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %v; last seen: %s", timeout, seen)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func requiredEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s must name the binary (this test runs only with -tags kite2e)", name)
	}
	return v
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

func writeRSAKey(t *testing.T, path string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	writeFile(t, path, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }
