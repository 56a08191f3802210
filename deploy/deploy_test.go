package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// The repository root, seen from this package's directory.
const repoRoot = ".."

// What the files must agree on.
const (
	bucket        = "freshrepos"
	store         = "s3://" + bucket
	edgePort      = 5000
	edgePolicy    = "freshrepos-edge"
	publishPolicy = "freshrepos-publisher"
)

// ---- Dockerfile ----------------------------------------------------------

type instruction struct {
	cmd  string // upper case
	args string
	line int
}

type stage struct {
	from         string // image, ARGs substituted
	name         string
	instructions []instruction
}

// parseDockerfile reads instructions, joining continuation lines, and splits
// them into stages. ARGs declared before the first FROM are substituted in
// FROM lines, as Docker does.
func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		stages  []stage
		global  = map[string]string{}
		pending strings.Builder
		start   int
	)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if pending.Len() == 0 {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			start = n
		} else if strings.HasPrefix(line, "#") {
			continue // comments inside a continued instruction
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending.WriteString(cont + " ")
			continue
		}
		pending.WriteString(line)
		full := pending.String()
		pending.Reset()
		cmd, args, _ := strings.Cut(full, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		switch {
		case in.cmd == "FROM":
			fields := strings.Fields(in.args)
			var image, name string
			for i := 0; i < len(fields); i++ {
				switch {
				case strings.HasPrefix(fields[i], "--"):
				case strings.EqualFold(fields[i], "AS") && i+1 < len(fields):
					name = fields[i+1]
					i++
				default:
					image = fields[i]
				}
			}
			for k, v := range global {
				image = strings.ReplaceAll(image, "${"+k+"}", v)
				image = strings.ReplaceAll(image, "$"+k, v)
			}
			stages = append(stages, stage{from: image, name: name})
		case len(stages) == 0 && in.cmd == "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			global[k] = v
		case len(stages) > 0:
			s := &stages[len(stages)-1]
			s.instructions = append(s.instructions, in)
		}
	}
	if pending.Len() > 0 {
		t.Fatalf("%s: ends inside a continued instruction", path)
	}
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instructions {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// goVersion is go.mod's go directive as MAJOR.MINOR.
func goVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

// imageBinaries are the paths the final stage copies out of the builder.
func imageBinaries(final stage) []string {
	var out []string
	for _, in := range final.all("COPY") {
		if f := strings.Fields(in.args); strings.HasPrefix(in.args, "--from=") && len(f) >= 3 {
			out = append(out, f[len(f)-1])
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stage(s)", len(stages))
	}
	builder, final := stages[0], stages[len(stages)-1]

	if want := "golang:" + goVersion(t); builder.from != want && !strings.HasPrefix(builder.from, want+"-") && !strings.HasPrefix(builder.from, want+".") {
		t.Errorf("builder is FROM %q, want %s (go.mod's Go)", builder.from, want)
	}
	var build string
	for _, in := range builder.all("RUN") {
		if strings.Contains(in.args, "go build") {
			build += in.args + "\n"
		}
	}
	var env string
	for _, in := range builder.all("ENV") {
		env += in.args + " "
	}
	for _, want := range []string{"-trimpath", "-ldflags='-s -w'", "./cmd/freshrepos", "./deploy/healthcheck"} {
		if !strings.Contains(build, want) {
			t.Errorf("no go build with %s in the builder", want)
		}
	}
	if !strings.Contains(build+env, "CGO_ENABLED=0") {
		t.Error("the builder does not set CGO_ENABLED=0: the binary would not be static")
	}

	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final stage is FROM %q, want distroless/static or scratch", final.from)
	}
	if final.from != "scratch" && !strings.Contains(final.from, ":") && !strings.Contains(final.from, "@sha256:") {
		t.Errorf("final stage FROM %q has no tag", final.from)
	}
	users := final.all("USER")
	if len(users) == 0 {
		t.Fatal("final stage has no USER: the image would run as root")
	}
	user := strings.Split(users[len(users)-1].args, ":")[0]
	if user == "root" || user == "0" || user == "" {
		t.Errorf("final USER is %q", users[len(users)-1].args)
	}
	if _, err := strconv.Atoi(user); err != nil {
		t.Errorf("USER %q is not numeric: Kubernetes' runAsNonRoot cannot verify a name", user)
	}
	exposed := false
	for _, in := range final.all("EXPOSE") {
		exposed = exposed || slices.Contains(strings.Fields(in.args), strconv.Itoa(edgePort))
	}
	if !exposed {
		t.Errorf("final stage does not EXPOSE %d", edgePort)
	}
	bins := imageBinaries(final)
	eps := final.all("ENTRYPOINT")
	if len(eps) != 1 {
		t.Fatalf("want one ENTRYPOINT, got %d", len(eps))
	}
	var ep []string
	if err := json.Unmarshal([]byte(eps[0].args), &ep); err != nil || len(ep) == 0 {
		t.Fatalf("ENTRYPOINT %s is not in exec form (a JSON array): the image has no shell", eps[0].args)
	}
	if !slices.Contains(bins, ep[0]) || filepath.Base(ep[0]) != "freshrepos" {
		t.Errorf("ENTRYPOINT %q is not the freshrepos binary copied from the builder (%q)", ep[0], bins)
	}
	for _, in := range stages[0].all("COPY") {
		if strings.Contains(in.args, "--from") {
			t.Errorf("line %d: the builder copies from another stage", in.line)
		}
	}
}

// TestDockerignore checks that deploy/Dockerfile.dockerignore, which BuildKit
// reads for `-f deploy/Dockerfile`, keeps the junk out and the sources in.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile("Dockerfile.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			t.Fatalf("negated pattern %q: this test does not evaluate them", line)
		}
		patterns = append(patterns, strings.TrimPrefix(line, "/"))
	}
	ignored := func(path string) bool {
		for _, p := range patterns {
			p = strings.ReplaceAll(p, "**/", "")
			for dir := path; dir != "."; dir = filepath.Dir(dir) {
				if ok, _ := filepath.Match(p, dir); ok {
					return true
				}
				if ok, _ := filepath.Match(p, filepath.Base(dir)); ok && strings.HasPrefix(p, "*") {
					return true
				}
			}
		}
		return false
	}
	for _, p := range []string{".git/config", "freshrepos", "bin/freshrepos", "data/latest.json"} {
		if !ignored(p) {
			t.Errorf("%s is sent to the build context", p)
		}
	}
	for _, p := range []string{"go.mod", "go.sum", "cmd/freshrepos/main.go", "deploy/healthcheck/main.go", "edge/config.go", "edge/openapi.json", "snapshots/store.go"} {
		if ignored(p) {
			t.Errorf("%s is left out of the build context", p)
		}
	}
}

// ---- docker-compose.yml --------------------------------------------------

// loadCompose loads docker-compose.yml with only env as the environment
// (never the test's own), as `docker compose` would.
func loadCompose(t *testing.T, env map[string]string, profiles ...string) *types.Project {
	t.Helper()
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(repoRoot, "docker-compose.yml")},
		cli.WithWorkingDirectory(repoRoot),
		cli.WithEnv(list),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := cli.ProjectFromOptions(ctx, opts)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

func envOf(s types.ServiceConfig, key string) (string, bool) {
	v, ok := s.Environment[key]
	if !ok || v == nil {
		return "", false
	}
	return *v, true
}

func mustEnv(t *testing.T, s types.ServiceConfig, key string) string {
	t.Helper()
	v, ok := envOf(s, key)
	if !ok {
		t.Fatalf("service %s sets no %s", s.Name, key)
	}
	return v
}

func commandIs(s types.ServiceConfig, cmd ...string) bool {
	return slices.Equal([]string(s.Command), cmd)
}

// edgeServices are the services that run `freshrepos edge`, sorted.
func edgeServices(p *types.Project) []types.ServiceConfig {
	var out []types.ServiceConfig
	for _, name := range p.ServiceNames() {
		if s := p.Services[name]; commandIs(s, "edge") {
			out = append(out, s)
		}
	}
	return out
}

// checkPinned fails unless image names a tag other than latest, or a digest.
func checkPinned(t *testing.T, where, image string) {
	t.Helper()
	if image == "" {
		t.Errorf("%s: no image", where)
		return
	}
	if strings.Contains(image, "@sha256:") {
		return
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	if !ok || tag == "" {
		t.Errorf("%s: image %q has no tag", where, image)
	} else if strings.EqualFold(tag, "latest") {
		t.Errorf("%s: image %q is not pinned", where, image)
	}
}

func TestComposeServices(t *testing.T) {
	p := loadCompose(t, nil)
	for _, name := range []string{"minio", "minio-setup", "publisher", "proxy"} {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("no service %s", name)
		}
	}
	edges := edgeServices(p)
	if len(edges) < 2 {
		t.Fatalf("want at least two edges, got %d", len(edges))
	}
	if _, ok := p.DisabledServices["fakegithub"]; !ok {
		t.Error("fakegithub should exist and be off unless --profile fake")
	}
	if !commandIs(p.Services["publisher"], "publish") {
		t.Errorf("publisher runs %q, want [publish] (the long-running scheduler)", p.Services["publisher"].Command)
	}

	absRoot, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	all := sortedServices(p.Services)
	fake := loadCompose(t, nil, "fake").Services["fakegithub"]
	if !commandIs(fake, "fakegithub", "--addr", "0.0.0.0:8081") {
		t.Errorf("fakegithub runs %q", fake.Command)
	}
	all = append(all, fake)
	for _, s := range all {
		checkPinned(t, "service "+s.Name, s.Image)
		if s.Privileged || s.NetworkMode == "host" {
			t.Errorf("service %s is privileged or on the host's network", s.Name)
		}
		if s.Build != nil {
			if s.Build.Context != absRoot || s.Build.Dockerfile != "deploy/Dockerfile" {
				t.Errorf("service %s builds %s with %s, want the repository root with deploy/Dockerfile", s.Name, s.Build.Context, s.Build.Dockerfile)
			}
		}
		// Every service built from this repository runs the one image,
		// hardened.
		if s.Build != nil || strings.HasPrefix(s.Image, "freshrepos:") {
			if s.Build == nil || s.Image != "freshrepos:local" {
				t.Errorf("service %s: want build deploy/Dockerfile and image freshrepos:local, got %v %q", s.Name, s.Build, s.Image)
			}
			if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
				t.Errorf("service %s: want read_only, cap_drop ALL and no-new-privileges", s.Name)
			}
		}
		switch s.Name {
		case "minio-setup":
			if !strings.HasPrefix(s.Restart, "on-failure") {
				t.Errorf("one-shot %s has restart %q, want on-failure", s.Name, s.Restart)
			}
		default:
			if s.Restart != "unless-stopped" && s.Restart != "always" {
				t.Errorf("long-running %s has restart %q, want unless-stopped", s.Name, s.Restart)
			}
		}
	}
	for _, img := range []struct{ service, prefix string }{
		{"minio", "minio/minio:RELEASE."},
		{"minio-setup", "minio/mc:RELEASE."},
		{"proxy", "nginx:"},
	} {
		if got := p.Services[img.service].Image; !strings.HasPrefix(got, img.prefix) {
			t.Errorf("service %s runs %q, want %s…", img.service, got, img.prefix)
		}
	}
}

// sortedServices lists the services by name.
func sortedServices(m types.Services) []types.ServiceConfig {
	var out []types.ServiceConfig
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

func TestComposeDependencies(t *testing.T) {
	p := loadCompose(t, nil)
	wantDep := func(from, to, condition string) {
		t.Helper()
		d, ok := p.Services[from].DependsOn[to]
		if !ok {
			t.Errorf("%s does not depend on %s", from, to)
		} else if d.Condition != condition {
			t.Errorf("%s waits for %s to be %s, want %s", from, to, d.Condition, condition)
		}
	}
	wantDep("minio-setup", "minio", types.ServiceConditionHealthy)
	wantDep("publisher", "minio-setup", types.ServiceConditionCompletedSuccessfully)
	for _, e := range edgeServices(p) {
		wantDep(e.Name, "minio-setup", types.ServiceConditionCompletedSuccessfully)
		wantDep("proxy", e.Name, types.ServiceConditionStarted)
	}
}

func TestComposeHealthChecks(t *testing.T) {
	p := loadCompose(t, nil)
	stages := parseDockerfile(t, "Dockerfile")
	bins := imageBinaries(stages[len(stages)-1])
	check := func(name, want string) []string {
		t.Helper()
		hc := p.Services[name].HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 {
			t.Errorf("service %s has no health check", name)
			return nil
		}
		if !strings.Contains(strings.Join(hc.Test, " "), want) {
			t.Errorf("service %s's health check %q does not check %s", name, hc.Test, want)
		}
		return hc.Test
	}
	check("minio", "ready")
	check("proxy", "/nginx-health")
	for _, name := range []string{"publisher", edgeServices(p)[0].Name, edgeServices(p)[1].Name} {
		want := "http://127.0.0.1:5000/readyz"
		if name == "publisher" {
			want = "http://127.0.0.1:9090/metrics"
		}
		test := check(name, want)
		// The image has no shell: the probe is exec'd, and must be in it.
		if len(test) > 1 && (test[0] != "CMD" || !slices.Contains(bins, test[1])) {
			t.Errorf("service %s's health check runs %q, which the image (%q) does not have", name, test, bins)
		}
	}
	if got := mustEnv(t, p.Services["publisher"], "METRICS_ADDR"); got != "127.0.0.1:9090" {
		t.Errorf("publisher METRICS_ADDR %q, but its health check asks 127.0.0.1:9090", got)
	}
}

func TestComposeProxy(t *testing.T) {
	p := loadCompose(t, nil)
	proxy := p.Services["proxy"]
	published := false
	for _, port := range proxy.Ports {
		published = published || (port.Published == "5000" && port.Target == 5000)
	}
	if !published {
		t.Errorf("proxy does not publish port 5000: %+v", proxy.Ports)
	}
	for _, s := range sortedServices(p.Services) {
		for _, port := range s.Ports {
			if s.Name != "proxy" && port.HostIP != "127.0.0.1" {
				t.Errorf("service %s publishes %s beyond this machine", s.Name, port.Published)
			}
		}
	}
	abs, _ := filepath.Abs(filepath.Join(repoRoot, "deploy", "nginx", "nginx.conf"))
	mounted := false
	for _, v := range proxy.Volumes {
		mounted = mounted || (v.Source == abs && v.Target == "/etc/nginx/nginx.conf" && v.ReadOnly)
	}
	if !mounted {
		t.Error("proxy does not mount deploy/nginx/nginx.conf read-only at /etc/nginx/nginx.conf")
	}
	// The nginx upstream is exactly the edges.
	conf := parseNginx(t)
	var servers []string
	for _, up := range conf.find("http", "upstream") {
		for _, s := range up.find("server") {
			servers = append(servers, s.args[0])
		}
	}
	var want []string
	for _, e := range edgeServices(p) {
		want = append(want, fmt.Sprintf("%s:%d", e.Name, edgePort))
		if got := mustEnv(t, e, "PORT"); got != strconv.Itoa(edgePort) {
			t.Errorf("%s listens on PORT %s", e.Name, got)
		}
	}
	if slices.Sort(servers); !slices.Equal(servers, want) {
		t.Errorf("nginx upstream servers %q, want the edges %q", servers, want)
	}
}

// TestComposeCredentials checks that each role has its own MinIO user, as
// deploy/minio/setup.sh creates it and as the services use it.
func TestComposeCredentials(t *testing.T) {
	p := loadCompose(t, nil)
	setup, minio, pub := p.Services["minio-setup"], p.Services["minio"], p.Services["publisher"]
	root := mustEnv(t, minio, "MINIO_ROOT_USER")
	rootPW := mustEnv(t, minio, "MINIO_ROOT_PASSWORD")
	if mustEnv(t, setup, "MINIO_ROOT_USER") != root || mustEnv(t, setup, "MINIO_ROOT_PASSWORD") != rootPW {
		t.Error("minio-setup does not log in with MinIO's root credentials")
	}
	pubKey, pubSecret := mustEnv(t, setup, "PUBLISHER_ACCESS_KEY"), mustEnv(t, setup, "PUBLISHER_SECRET_KEY")
	edgeKey, edgeSecret := mustEnv(t, setup, "EDGE_ACCESS_KEY"), mustEnv(t, setup, "EDGE_SECRET_KEY")
	if pubKey == edgeKey || pubSecret == edgeSecret || pubKey == root || edgeKey == root {
		t.Errorf("the publisher's, the edges' and the root credentials must all differ: %q %q %q", root, pubKey, edgeKey)
	}
	for _, secret := range []string{rootPW, pubSecret, edgeSecret} {
		if len(secret) < 8 {
			t.Errorf("MinIO refuses secrets shorter than 8 characters: %q", secret)
		}
	}
	checkRole := func(s types.ServiceConfig, key, secret string) {
		t.Helper()
		if got := mustEnv(t, s, "STORE"); got != store {
			t.Errorf("%s: STORE %q, want %q", s.Name, got, store)
		}
		if got := mustEnv(t, s, "AWS_ENDPOINT_URL"); got != "http://minio:9000" {
			t.Errorf("%s: AWS_ENDPOINT_URL %q", s.Name, got)
		}
		if mustEnv(t, s, "AWS_ACCESS_KEY_ID") != key || mustEnv(t, s, "AWS_SECRET_ACCESS_KEY") != secret {
			t.Errorf("%s does not use its own role's credentials", s.Name)
		}
		for k, v := range s.Environment {
			if v != nil && (*v == rootPW || strings.HasPrefix(k, "MINIO_ROOT")) {
				t.Errorf("%s holds MinIO's root credentials (%s)", s.Name, k)
			}
		}
	}
	checkRole(pub, pubKey, pubSecret)
	for _, e := range edgeServices(p) {
		checkRole(e, edgeKey, edgeSecret)
	}

	// setup.sh gives each of those users its policy, and only that one.
	script, err := os.ReadFile(filepath.Join("minio", "setup.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`ensure_user "$PUBLISHER_ACCESS_KEY" "$PUBLISHER_SECRET_KEY" ` + publishPolicy + ` /policies/publisher-readwrite.json`,
		`ensure_user "$EDGE_ACCESS_KEY" "$EDGE_SECRET_KEY" ` + edgePolicy + ` /policies/edge-readonly.json`,
		`bucket=` + bucket + ` `,
		`mc mb --ignore-existing "local/$bucket"`,
		`mc anonymous set none "local/$bucket"`,
		`set -eu`,
	} {
		if !strings.Contains(string(script), want) {
			t.Errorf("deploy/minio/setup.sh lacks %q", want)
		}
	}
	if !slices.Equal([]string(setup.Entrypoint), []string{"/bin/sh", "/policies/setup.sh"}) {
		t.Errorf("minio-setup runs %q", setup.Entrypoint)
	}
	abs, _ := filepath.Abs("minio")
	mounted := false
	for _, v := range setup.Volumes {
		mounted = mounted || (v.Source == abs && v.Target == "/policies" && v.ReadOnly)
	}
	if !mounted {
		t.Error("minio-setup does not mount deploy/minio read-only at /policies")
	}

	// Every default is overridable, and each override reaches both ends.
	over := loadCompose(t, map[string]string{
		"MINIO_ROOT_PASSWORD":             "root-override",
		"FRESHREPOS_EDGE_ACCESS_KEY":      "edge-override",
		"FRESHREPOS_EDGE_SECRET_KEY":      "edge-secret-override",
		"FRESHREPOS_PUBLISHER_ACCESS_KEY": "pub-override",
		"GITHUB_TOKEN":                    "token-override",
		"PUBLISH_INTERVAL":                "5m",
	})
	if got := mustEnv(t, over.Services["minio"], "MINIO_ROOT_PASSWORD"); got != "root-override" || mustEnv(t, over.Services["minio-setup"], "MINIO_ROOT_PASSWORD") != got {
		t.Error("MINIO_ROOT_PASSWORD does not override both minio and minio-setup")
	}
	if mustEnv(t, over.Services["minio-setup"], "EDGE_ACCESS_KEY") != "edge-override" || mustEnv(t, over.Services["minio-setup"], "EDGE_SECRET_KEY") != "edge-secret-override" {
		t.Error("FRESHREPOS_EDGE_* do not reach minio-setup")
	}
	for _, e := range edgeServices(over) {
		if mustEnv(t, e, "AWS_ACCESS_KEY_ID") != "edge-override" || mustEnv(t, e, "PUBLISH_INTERVAL") != "5m" {
			t.Errorf("overrides do not reach %s", e.Name)
		}
	}
	op := over.Services["publisher"]
	if mustEnv(t, op, "AWS_ACCESS_KEY_ID") != "pub-override" || mustEnv(t, over.Services["minio-setup"], "PUBLISHER_ACCESS_KEY") != "pub-override" {
		t.Error("FRESHREPOS_PUBLISHER_ACCESS_KEY does not reach both the publisher and minio-setup")
	}
	if mustEnv(t, op, "GITHUB_TOKEN") != "token-override" || mustEnv(t, op, "PUBLISH_SCHEDULE") != "@every 5m" {
		t.Error("GITHUB_TOKEN or PUBLISH_INTERVAL does not reach the publisher")
	}
}

func TestComposePublisher(t *testing.T) {
	p := loadCompose(t, nil)
	pub := p.Services["publisher"]
	if got := mustEnv(t, pub, "GITHUB_TOKEN"); got != "" {
		t.Errorf("GITHUB_TOKEN defaults to %q, want empty (anonymous)", got)
	}
	// The edges tell caches to keep an answer until the next publication.
	for _, e := range edgeServices(p) {
		if want := "@every " + mustEnv(t, e, "PUBLISH_INTERVAL"); mustEnv(t, pub, "PUBLISH_SCHEDULE") != want {
			t.Errorf("publisher PUBLISH_SCHEDULE %q, but %s expects %q", mustEnv(t, pub, "PUBLISH_SCHEDULE"), e.Name, want)
		}
	}
}

// TestComposeLocalDefaults checks that every credential default written in
// docker-compose.yml says it is for local use only.
func TestComposeLocalDefaults(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\$\{([A-Z0-9_]+):-([^}]*)\}`)
	n := 0
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		name, def := m[1], m[2]
		if !strings.Contains(name, "PASSWORD") && !strings.Contains(name, "SECRET") && !strings.Contains(name, "TOKEN") {
			continue
		}
		n++
		if def != "" && !strings.Contains(def, "local-only") {
			t.Errorf("default of %s, %q, does not say it is local-only", name, def)
		}
	}
	if n < 4 {
		t.Errorf("found %d credential defaults, want the root password, two role secrets and the GitHub token", n)
	}
}

// ---- nginx ---------------------------------------------------------------

type directive struct {
	name  string
	args  []string
	block []*directive // nil unless the directive has a block
}

// find returns the directives at path: find("http", "server") is every
// server block in every http block.
func (d *directive) find(path ...string) []*directive {
	cur := []*directive{d}
	for _, name := range path {
		var next []*directive
		for _, c := range cur {
			for _, b := range c.block {
				if b.name == name {
					next = append(next, b)
				}
			}
		}
		cur = next
	}
	return cur
}

// walk calls f on every directive under d.
func (d *directive) walk(f func(*directive)) {
	for _, b := range d.block {
		f(b)
		b.walk(f)
	}
}

// parseNginx reads deploy/nginx/nginx.conf: comments, quotes, blocks. It is
// no full parser (no variables in braces outside quotes), but nginx.conf
// needs none.
func parseNginx(t *testing.T) *directive {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("nginx", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	s := string(b)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '{' || c == '}' || c == ';':
			tokens = append(tokens, string(c))
			i++
		case c == '"' || c == '\'':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				t.Fatal("nginx.conf: unterminated quote")
			}
			tokens = append(tokens, s[i+1:i+1+j])
			i += j + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n;{}#", rune(s[j])) {
				j++
			}
			tokens = append(tokens, s[i:j])
			i = j
		}
	}
	var parse func() ([]*directive, error)
	parse = func() ([]*directive, error) {
		var out []*directive
		var cur *directive
		for len(tokens) > 0 {
			tok := tokens[0]
			tokens = tokens[1:]
			switch {
			case tok == "}":
				if cur != nil {
					return nil, fmt.Errorf("%s: missing ;", cur.name)
				}
				return out, nil
			case tok == ";":
				if cur == nil {
					return nil, errors.New("empty directive")
				}
				out, cur = append(out, cur), nil
			case tok == "{":
				if cur == nil {
					return nil, errors.New("block without a name")
				}
				block, err := parse()
				if err != nil {
					return nil, err
				}
				if block == nil {
					block = []*directive{} // an empty block is still a block
				}
				cur.block = block
				out, cur = append(out, cur), nil
			case cur == nil:
				cur = &directive{name: tok}
			default:
				cur.args = append(cur.args, tok)
			}
		}
		if cur != nil {
			return nil, fmt.Errorf("%s: missing ;", cur.name)
		}
		return out, nil
	}
	top, err := parse()
	if err != nil {
		t.Fatalf("nginx.conf: %v", err)
	}
	if len(tokens) != 0 {
		t.Fatal("nginx.conf: unbalanced }")
	}
	return &directive{block: top}
}

func TestNginx(t *testing.T) {
	conf := parseNginx(t)
	if len(conf.find("http")) != 1 || len(conf.find("events")) != 1 {
		t.Fatal("nginx.conf wants one http and one events block")
	}
	conf.walk(func(d *directive) {
		switch d.name {
		case "proxy_cache_valid", "proxy_ignore_headers", "proxy_hide_header", "expires":
			t.Errorf("%s %q: the edges' Cache-Control alone decides what is kept, and for how long", d.name, d.args)
		case "proxy_set_header":
			if len(d.args) == 2 && strings.EqualFold(d.args[0], "Accept-Encoding") && d.args[1] != "$http_accept_encoding" {
				t.Errorf("Accept-Encoding is rewritten to %q: the edges choose the encoding", d.args[1])
			}
		}
	})

	var zone, upstream string
	for _, pc := range conf.find("http", "proxy_cache_path") {
		for _, a := range pc.args {
			if z, ok := strings.CutPrefix(a, "keys_zone="); ok {
				zone, _, _ = strings.Cut(z, ":")
			}
		}
	}
	if zone == "" {
		t.Fatal("no proxy_cache_path with a keys_zone")
	}
	if ups := conf.find("http", "upstream"); len(ups) != 1 || len(ups[0].args) != 1 {
		t.Fatal("want one upstream block")
	} else {
		upstream = ups[0].args[0]
	}

	var public *directive
	for _, srv := range conf.find("http", "server") {
		for _, l := range srv.find("listen") {
			if l.args[0] == strconv.Itoa(edgePort) || strings.HasSuffix(l.args[0], ":"+strconv.Itoa(edgePort)) {
				public = srv
			}
		}
	}
	if public == nil {
		t.Fatalf("no server listens on %d", edgePort)
	}
	var root *directive
	for _, loc := range public.find("location") {
		if slices.Equal(loc.args, []string{"/"}) {
			root = loc
		}
	}
	if root == nil {
		t.Fatal("the public server has no location /")
	}
	one := func(name string) []string {
		t.Helper()
		ds := root.find(name)
		if len(ds) != 1 {
			t.Errorf("location / has %d %s, want 1", len(ds), name)
			return nil
		}
		return ds[0].args
	}
	if got := one("proxy_pass"); !slices.Equal(got, []string{"http://" + upstream}) {
		t.Errorf("proxy_pass %q, want http://%s", got, upstream)
	}
	if got := one("proxy_cache"); !slices.Equal(got, []string{zone}) {
		t.Errorf("proxy_cache %q, want %s", got, zone)
	}
	if got := one("proxy_cache_key"); len(got) != 1 || !strings.Contains(got[0], "$http_accept_encoding") || !strings.Contains(got[0], "$request_uri") {
		t.Errorf("proxy_cache_key %q must hold the URI with its query and Accept-Encoding", got)
	}
	useStale := one("proxy_cache_use_stale")
	for _, want := range []string{"updating", "error", "timeout"} {
		if !slices.Contains(useStale, want) {
			t.Errorf("proxy_cache_use_stale %q lacks %s", useStale, want)
		}
	}
	for _, on := range []string{"proxy_cache_background_update", "proxy_cache_lock", "proxy_cache_revalidate"} {
		if got := one(on); !slices.Equal(got, []string{"on"}) {
			t.Errorf("%s %q, want on", on, got)
		}
	}
	if got := one("add_header"); len(got) < 2 || got[0] != "X-Cache-Status" || got[1] != "$upstream_cache_status" {
		t.Errorf("add_header %q, want X-Cache-Status $upstream_cache_status", got)
	}
	if got := one("proxy_next_upstream"); !slices.Contains(got, "http_503") {
		t.Errorf("proxy_next_upstream %q: an edge with no snapshot yet answers 503, and the other should be asked", got)
	}

	// The health endpoint the Compose health check asks for.
	health := false
	for _, srv := range conf.find("http", "server") {
		for _, loc := range srv.find("location") {
			health = health || slices.Equal(loc.args, []string{"=", "/nginx-health"})
		}
		if health {
			if l := srv.find("listen"); len(l) != 1 || l[0].args[0] != "127.0.0.1:8080" {
				t.Error("/nginx-health must be served on 127.0.0.1:8080 alone")
			}
			break
		}
	}
	if !health {
		t.Error("no location = /nginx-health")
	}
}

// ---- Kubernetes ------------------------------------------------------------

// scalar takes a YAML scalar of any type (ports and quantities are ints or
// strings) as its text.
type scalar string

func (s *scalar) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a scalar", n.Line)
	}
	*s = scalar(n.Value)
	return nil
}

type meta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   meta   `yaml:"metadata"`
	file       string
	doc        *yaml.Node
}

func (o k8sObject) String() string { return fmt.Sprintf("%s %s (%s)", o.Kind, o.Metadata.Name, o.file) }

type selector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port scalar `yaml:"port"`
	} `yaml:"httpGet"`
	PeriodSeconds  int `yaml:"periodSeconds"`
	TimeoutSeconds int `yaml:"timeoutSeconds"`
}

type securityContext struct {
	RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
	RunAsUser                *int  `yaml:"runAsUser"`
	ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	Capabilities             struct {
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
}

type ref struct {
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string  `yaml:"name"`
		Value     *string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef    *ref `yaml:"secretKeyRef"`
			ConfigMapKeyRef *ref `yaml:"configMapKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		SecretRef    *ref `yaml:"secretRef"`
		ConfigMapRef *ref `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]scalar `yaml:"requests"`
		Limits   map[string]scalar `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *securityContext `yaml:"securityContext"`
}

// env is the value of a plain env entry.
func (c container) env(name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name && e.Value != nil {
			return *e.Value, true
		}
	}
	return "", false
}

// port resolves a probe's or Service's port, a number or a port's name.
func (c container) port(p scalar) int {
	if n, err := strconv.Atoi(string(p)); err == nil {
		return n
	}
	for _, cp := range c.Ports {
		if cp.Name == string(p) {
			return cp.ContainerPort
		}
	}
	return 0
}

// secretRefs and configMapRefs are the Secrets and ConfigMaps a container reads.
func (c container) refs() (secrets, configMaps []string) {
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil {
			secrets = append(secrets, e.SecretRef.Name)
		}
		if e.ConfigMapRef != nil {
			configMaps = append(configMaps, e.ConfigMapRef.Name)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secrets = append(secrets, e.ValueFrom.SecretKeyRef.Name)
		}
		if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
			configMaps = append(configMaps, e.ValueFrom.ConfigMapKeyRef.Name)
		}
	}
	return secrets, configMaps
}

type podSpec struct {
	ServiceAccountName           string          `yaml:"serviceAccountName"`
	AutomountServiceAccountToken *bool           `yaml:"automountServiceAccountToken"`
	RestartPolicy                string          `yaml:"restartPolicy"`
	SecurityContext              securityContext `yaml:"securityContext"`
	Containers                   []container     `yaml:"containers"`
}

type podTemplate struct {
	Metadata meta    `yaml:"metadata"`
	Spec     podSpec `yaml:"spec"`
}

type deploymentSpec struct {
	Replicas int         `yaml:"replicas"`
	Selector selector    `yaml:"selector"`
	Template podTemplate `yaml:"template"`
}

type serviceSpec struct {
	Type     string            `yaml:"type"`
	Selector map[string]string `yaml:"selector"`
	Ports    []struct {
		Name       string `yaml:"name"`
		Port       int    `yaml:"port"`
		TargetPort scalar `yaml:"targetPort"`
	} `yaml:"ports"`
}

type hpaSpec struct {
	ScaleTargetRef struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Name       string `yaml:"name"`
	} `yaml:"scaleTargetRef"`
	MinReplicas int `yaml:"minReplicas"`
	MaxReplicas int `yaml:"maxReplicas"`
	Metrics     []struct {
		Type     string `yaml:"type"`
		Resource *struct {
			Name   string `yaml:"name"`
			Target struct {
				Type               string `yaml:"type"`
				AverageUtilization int    `yaml:"averageUtilization"`
			} `yaml:"target"`
		} `yaml:"resource"`
	} `yaml:"metrics"`
}

type pdbSpec struct {
	MinAvailable   *scalar  `yaml:"minAvailable"`
	MaxUnavailable *scalar  `yaml:"maxUnavailable"`
	Selector       selector `yaml:"selector"`
}

type cronJobSpec struct {
	Schedule          string `yaml:"schedule"`
	ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
	JobTemplate       struct {
		Spec struct {
			BackoffLimit          *int        `yaml:"backoffLimit"`
			ActiveDeadlineSeconds int         `yaml:"activeDeadlineSeconds"`
			Template              podTemplate `yaml:"template"`
		} `yaml:"spec"`
	} `yaml:"jobTemplate"`
}

type secretObject struct {
	Type       string            `yaml:"type"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
}

// decode decodes the whole document into out.
func (o k8sObject) decode(t *testing.T, out any) {
	t.Helper()
	if err := o.doc.Decode(out); err != nil {
		t.Fatalf("%s: %v", o, err)
	}
}

// spec decodes the object's spec into out.
func (o k8sObject) spec(t *testing.T, out any) {
	t.Helper()
	var w struct {
		Spec yaml.Node `yaml:"spec"`
	}
	o.decode(t, &w)
	if w.Spec.Kind == 0 {
		t.Fatalf("%s has no spec", o)
	}
	if err := w.Spec.Decode(out); err != nil {
		t.Fatalf("%s: spec: %v", o, err)
	}
}

// loadK8s parses every YAML document in deploy/k8s/.
func loadK8s(t *testing.T) []k8sObject {
	t.Helper()
	var objs []k8sObject
	files, err := filepath.Glob(filepath.Join("k8s", "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no YAML in deploy/k8s: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for i := 0; ; i++ {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
				continue // an empty document
			}
			o := k8sObject{file: filepath.Base(f), doc: &doc}
			if err := doc.Decode(&o); err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			if o.APIVersion == "" || o.Kind == "" {
				t.Fatalf("%s: document %d has no apiVersion or kind", f, i)
			}
			if o.Kind != "Kustomization" && o.Metadata.Name == "" {
				t.Errorf("%s has no name", o)
			}
			objs = append(objs, o)
		}
	}
	return objs
}

// the returns the one object of that kind and name ("" for any name).
func the(t *testing.T, objs []k8sObject, kind, name string) k8sObject {
	t.Helper()
	var found []k8sObject
	for _, o := range objs {
		if o.Kind == kind && (name == "" || o.Metadata.Name == name) {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s %s, found %d", kind, name, len(found))
	}
	return found[0]
}

func TestK8sObjects(t *testing.T) {
	objs := loadK8s(t)
	want := map[string]string{
		"Deployment":              "apps/v1",
		"Service":                 "v1",
		"HorizontalPodAutoscaler": "autoscaling/v2",
		"PodDisruptionBudget":     "policy/v1",
		"CronJob":                 "batch/v1",
		"Secret":                  "v1",
		"ConfigMap":               "v1",
		"ServiceAccount":          "v1",
		"Kustomization":           "kustomize.config.k8s.io/v1beta1",
	}
	seen := map[string]bool{}
	names := map[string]bool{}
	for _, o := range objs {
		seen[o.Kind] = true
		if api, ok := want[o.Kind]; !ok {
			t.Errorf("unexpected %s", o)
		} else if o.APIVersion != api {
			t.Errorf("%s is %s, want %s", o, o.APIVersion, api)
		}
		if o.Metadata.Namespace != "" {
			t.Errorf("%s names namespace %q: the manifests are namespace-less", o, o.Metadata.Namespace)
		}
		if key := o.Kind + "/" + o.Metadata.Name; names[key] {
			t.Errorf("two of %s", key)
		} else {
			names[key] = true
		}
		if o.Kind != "Kustomization" && o.Metadata.Labels["app.kubernetes.io/name"] != "freshrepos" {
			t.Errorf("%s lacks the label app.kubernetes.io/name: freshrepos", o)
		}
	}
	for kind := range want {
		if !seen[kind] {
			t.Errorf("no %s in deploy/k8s", kind)
		}
	}

	// kustomization.yaml lists every other manifest.
	var k struct {
		Resources []string `yaml:"resources"`
	}
	the(t, objs, "Kustomization", "").decode(t, &k)
	var files []string
	for _, o := range objs {
		if o.Kind != "Kustomization" && !slices.Contains(files, o.file) {
			files = append(files, o.file)
		}
	}
	slices.Sort(files)
	slices.Sort(k.Resources)
	if !slices.Equal(files, k.Resources) {
		t.Errorf("kustomization.yaml lists %q, want %q", k.Resources, files)
	}
}

// checkContainer checks what every container of ours must have.
func checkContainer(t *testing.T, where string, pod podSpec, c container) {
	t.Helper()
	checkPinned(t, where, c.Image)
	for _, r := range []string{"cpu", "memory"} {
		if c.Resources.Requests[r] == "" {
			t.Errorf("%s requests no %s", where, r)
		}
	}
	if c.Resources.Limits["memory"] == "" {
		t.Errorf("%s has no memory limit", where)
	}
	if pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: the pod is not runAsNonRoot", where)
	}
	if u := pod.SecurityContext.RunAsUser; u != nil && *u == 0 {
		t.Errorf("%s runs as root", where)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem is not set", where)
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", where)
	}
	if sc == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("%s does not drop all capabilities", where)
	}
	if a := pod.AutomountServiceAccountToken; a == nil || *a {
		t.Errorf("%s: the pod mounts a Kubernetes API token it never uses", where)
	}
}

func TestK8sEdge(t *testing.T) {
	objs := loadK8s(t)
	var d deploymentSpec
	dep := the(t, objs, "Deployment", "freshrepos-edge")
	dep.spec(t, &d)
	if d.Replicas != 3 {
		t.Errorf("edge replicas %d, want 3", d.Replicas)
	}
	podLabels := d.Template.Metadata.Labels
	if len(d.Selector.MatchLabels) == 0 || !subset(d.Selector.MatchLabels, podLabels) {
		t.Fatalf("the Deployment's selector %v does not select its pods %v", d.Selector.MatchLabels, podLabels)
	}
	if len(d.Template.Spec.Containers) != 1 {
		t.Fatalf("want one edge container, got %d", len(d.Template.Spec.Containers))
	}
	c := d.Template.Spec.Containers[0]
	checkContainer(t, "edge", d.Template.Spec, c)
	if !slices.Equal(c.Args, []string{"edge"}) {
		t.Errorf("edge args %q, want [edge]", c.Args)
	}
	if c.port("http") != edgePort {
		t.Errorf("edge has no port named http on %d", edgePort)
	}
	if p, ok := c.env("PORT"); ok && p != strconv.Itoa(edgePort) {
		t.Errorf("edge PORT %s", p)
	}
	if m, _ := c.env("METRICS_ADDR"); m != ":9090" || c.port("metrics") != 9090 {
		t.Errorf("edge METRICS_ADDR %q, want :9090 with a port named metrics", m)
	}
	for _, pr := range []struct {
		name string
		p    *probe
		path string
	}{{"readinessProbe", c.ReadinessProbe, "/readyz"}, {"livenessProbe", c.LivenessProbe, "/healthz"}} {
		if pr.p == nil || pr.p.HTTPGet == nil {
			t.Errorf("edge has no httpGet %s", pr.name)
			continue
		}
		if pr.p.HTTPGet.Path != pr.path || c.port(pr.p.HTTPGet.Port) != edgePort {
			t.Errorf("edge %s asks %s on %s, want %s on %d", pr.name, pr.p.HTTPGet.Path, pr.p.HTTPGet.Port, pr.path, edgePort)
		}
	}
	if c.Resources.Limits["cpu"] == "" || c.Resources.Requests["cpu"] == "" {
		t.Error("edge needs a CPU request (the HPA scales on it) and limit")
	}
	if lim, gml := parseQuantity(t, string(c.Resources.Limits["memory"])), gomemlimit(t, c); gml == 0 || gml >= lim {
		t.Errorf("edge GOMEMLIMIT (%d bytes) must be set below its memory limit (%d)", gml, lim)
	}

	// The Service sends port 80 to the edges' 5000.
	var svc serviceSpec
	the(t, objs, "Service", "freshrepos-edge").spec(t, &svc)
	if !subset(svc.Selector, podLabels) || len(svc.Selector) == 0 {
		t.Errorf("Service selector %v does not select the edges %v", svc.Selector, podLabels)
	}
	if len(svc.Ports) != 1 || svc.Ports[0].Port != 80 || c.port(svc.Ports[0].TargetPort) != edgePort {
		t.Errorf("Service ports %+v, want 80 → %d", svc.Ports, edgePort)
	}

	var hpa hpaSpec
	the(t, objs, "HorizontalPodAutoscaler", "freshrepos-edge").spec(t, &hpa)
	if r := hpa.ScaleTargetRef; r.Kind != "Deployment" || r.Name != dep.Metadata.Name || r.APIVersion != "apps/v1" {
		t.Errorf("the HPA scales %+v", r)
	}
	if hpa.MinReplicas < 2 || hpa.MaxReplicas < hpa.MinReplicas {
		t.Errorf("HPA replicas %d..%d", hpa.MinReplicas, hpa.MaxReplicas)
	}
	cpu70 := false
	for _, m := range hpa.Metrics {
		cpu70 = cpu70 || (m.Type == "Resource" && m.Resource != nil && m.Resource.Name == "cpu" &&
			m.Resource.Target.Type == "Utilization" && m.Resource.Target.AverageUtilization == 70)
	}
	if !cpu70 {
		t.Error("the HPA does not target 70% CPU utilization")
	}

	var pdb pdbSpec
	the(t, objs, "PodDisruptionBudget", "freshrepos-edge").spec(t, &pdb)
	if pdb.MinAvailable == nil || *pdb.MinAvailable != "1" || pdb.MaxUnavailable != nil {
		t.Errorf("PDB minAvailable %v, maxUnavailable %v: want minAvailable 1 alone", deref(pdb.MinAvailable), deref(pdb.MaxUnavailable))
	}
	if !subset(pdb.Selector.MatchLabels, podLabels) || len(pdb.Selector.MatchLabels) == 0 {
		t.Errorf("PDB selector %v does not select the edges", pdb.Selector.MatchLabels)
	}
}

func TestK8sPublisher(t *testing.T) {
	objs := loadK8s(t)
	var cj cronJobSpec
	the(t, objs, "CronJob", "freshrepos-publisher").spec(t, &cj)
	if cj.Schedule != "*/2 * * * *" {
		t.Errorf("schedule %q, want */2 * * * *", cj.Schedule)
	}
	if cj.ConcurrencyPolicy != "Forbid" {
		t.Errorf("concurrencyPolicy %q, want Forbid: two publishers must never race", cj.ConcurrencyPolicy)
	}
	pod := cj.JobTemplate.Spec.Template.Spec
	if pod.RestartPolicy != "Never" && pod.RestartPolicy != "OnFailure" {
		t.Errorf("restartPolicy %q", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("want one publisher container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	checkContainer(t, "publisher", pod, c)
	if !slices.Contains(c.Args, "publish") || !slices.Contains(c.Args, "--once") || c.Args[0] != "publish" {
		t.Errorf("publisher args %q, want publish --once", c.Args)
	}
	interval := cronInterval(t, cj.Schedule)
	if d := cj.JobTemplate.Spec.ActiveDeadlineSeconds; d <= 0 || time.Duration(d)*time.Second >= interval {
		t.Errorf("activeDeadlineSeconds %d: a run must end before the next is due (%v)", d, interval)
	}
	// The edges expect a publication every interval.
	var d deploymentSpec
	the(t, objs, "Deployment", "freshrepos-edge").spec(t, &d)
	edge := d.Template.Spec.Containers[0]
	if pi, _ := edge.env("PUBLISH_INTERVAL"); pi != interval.String() && pi != strings.TrimSuffix(interval.String(), "0s") {
		t.Errorf("edge PUBLISH_INTERVAL %q, but the CronJob publishes every %v", pi, interval)
	}
	if c.Image != edge.Image {
		t.Errorf("publisher image %q, edge image %q: one image for every role", c.Image, edge.Image)
	}
	gh := false
	for _, e := range c.Env {
		gh = gh || (e.Name == "GITHUB_TOKEN" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil)
	}
	if !gh {
		t.Error("the publisher does not take GITHUB_TOKEN from a Secret")
	}
}

// TestK8sLeastPrivilege checks that each role reads only its own Secret, and
// that every Secret, ConfigMap and ServiceAccount named exists.
func TestK8sLeastPrivilege(t *testing.T) {
	objs := loadK8s(t)
	exists := map[string]bool{}
	for _, o := range objs {
		exists[o.Kind+"/"+o.Metadata.Name] = true
	}
	var d deploymentSpec
	the(t, objs, "Deployment", "freshrepos-edge").spec(t, &d)
	var cj cronJobSpec
	the(t, objs, "CronJob", "freshrepos-publisher").spec(t, &cj)
	roles := map[string]podSpec{"edge": d.Template.Spec, "publisher": cj.JobTemplate.Spec.Template.Spec}
	s3 := map[string]string{}
	for role, pod := range roles {
		if !exists["ServiceAccount/"+pod.ServiceAccountName] {
			t.Errorf("%s runs as ServiceAccount %q, which is not defined", role, pod.ServiceAccountName)
		}
		secrets, cms := pod.Containers[0].refs()
		for _, s := range secrets {
			if !exists["Secret/"+s] {
				t.Errorf("%s reads Secret %q, which is not defined", role, s)
			}
			if strings.HasSuffix(s, "-s3") {
				if s3[role] != "" {
					t.Errorf("%s reads two S3 Secrets", role)
				}
				s3[role] = s
			}
		}
		for _, cm := range cms {
			if !exists["ConfigMap/"+cm] {
				t.Errorf("%s reads ConfigMap %q, which is not defined", role, cm)
			}
		}
	}
	if s3["edge"] == "" || s3["publisher"] == "" || s3["edge"] == s3["publisher"] {
		t.Errorf("want one S3 Secret per role, got %v", s3)
	}
	if !strings.Contains(s3["edge"], "edge") || !strings.Contains(s3["publisher"], "publisher") {
		t.Errorf("S3 Secrets %v: each role must read its own", s3)
	}
	if pubSecrets, _ := roles["publisher"].Containers[0].refs(); slices.Contains(pubSecrets, s3["edge"]) {
		t.Error("the publisher reads the edges' Secret")
	}
	if edgeSecrets, _ := roles["edge"].Containers[0].refs(); len(edgeSecrets) != 1 {
		t.Errorf("the edges read Secrets %q: the read-only S3 keys are all they need", edgeSecrets)
	}
	if roles["edge"].ServiceAccountName == roles["publisher"].ServiceAccountName {
		t.Error("edge and publisher share a ServiceAccount: no separate cloud IAM roles possible")
	}

	// Secrets hold placeholders only.
	for _, o := range objs {
		if o.Kind != "Secret" {
			continue
		}
		var s secretObject
		o.decode(t, &s)
		if len(s.Data) > 0 {
			t.Errorf("%s uses data: write placeholders in stringData", o)
		}
		if len(s.StringData) == 0 {
			t.Errorf("%s has no stringData", o)
		}
		for k, v := range s.StringData {
			if v != "" && !strings.Contains(v, "REPLACE_ME") {
				t.Errorf("%s: %s is %q, want a REPLACE_ME placeholder", o, k, v)
			}
		}
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	the(t, objs, "ConfigMap", "freshrepos-store").decode(t, &cm)
	if cm.Data["STORE"] != store {
		t.Errorf("STORE %q, want %q, the bucket the IAM policies name", cm.Data["STORE"], store)
	}
}

func deref(s *scalar) string {
	if s == nil {
		return "(unset)"
	}
	return string(*s)
}

func subset(sub, super map[string]string) bool {
	for k, v := range sub {
		if super[k] != v {
			return false
		}
	}
	return true
}

// cronInterval reads "*/N * * * *", every N minutes.
func cronInterval(t *testing.T, spec string) time.Duration {
	t.Helper()
	f := strings.Fields(spec)
	if len(f) != 5 || !strings.HasPrefix(f[0], "*/") || strings.Join(f[1:], " ") != "* * * *" {
		t.Fatalf("schedule %q is not */N * * * *", spec)
	}
	n, err := strconv.Atoi(f[0][2:])
	if err != nil || n <= 0 || 60%n != 0 {
		t.Fatalf("schedule %q: N must divide 60", spec)
	}
	return time.Duration(n) * time.Minute
}

// parseQuantity reads a Kubernetes memory quantity such as 512Mi or 1G.
func parseQuantity(t *testing.T, q string) int64 {
	t.Helper()
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"", 1}} {
		if num, ok := strings.CutSuffix(q, u.suffix); ok {
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				t.Fatalf("quantity %q: %v", q, err)
			}
			return n * u.mult
		}
	}
	return 0
}

// gomemlimit reads the container's GOMEMLIMIT (as runtime/debug does) in bytes.
func gomemlimit(t *testing.T, c container) int64 {
	t.Helper()
	v, ok := c.env("GOMEMLIMIT")
	if !ok {
		return 0
	}
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}, {"", 1}} {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				t.Fatalf("GOMEMLIMIT %q: %v", v, err)
			}
			return n * u.mult
		}
	}
	return 0
}

// ---- policies ------------------------------------------------------------

// strings1 is an IAM string-or-list.
type strings1 []string

func (s *strings1) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = strings1{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*s = many
	return err
}

type policy struct {
	Version   string
	Statement []struct {
		Sid       string
		Effect    string
		Action    strings1
		NotAction strings1
		Resource  strings1
		Principal json.RawMessage
		Condition json.RawMessage
	}
}

// allowed maps each allowed action to the resources it is allowed on.
func (p policy) allowed() map[string][]string {
	out := map[string][]string{}
	for _, s := range p.Statement {
		for _, a := range s.Action {
			out[a] = append(out[a], s.Resource...)
			slices.Sort(out[a])
		}
	}
	return out
}

func readPolicy(t *testing.T, path string) policy {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p policy
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if p.Version != "2012-10-17" {
		t.Errorf("%s: Version %q, want 2012-10-17", path, p.Version)
	}
	for _, s := range p.Statement {
		if s.Effect != "Allow" || len(s.NotAction) > 0 || len(s.Principal) > 0 {
			t.Errorf("%s: statement %s: want plain Allow statements (identity policies, no NotAction, no Principal)", path, s.Sid)
		}
		for _, a := range s.Action {
			if strings.Contains(a, "*") {
				t.Errorf("%s: wildcard action %q", path, a)
			}
		}
		for _, r := range s.Resource {
			if r != "arn:aws:s3:::"+bucket && r != "arn:aws:s3:::"+bucket+"/*" {
				t.Errorf("%s: resource %q is not the bucket %s or its objects", path, r, bucket)
			}
		}
	}
	return p
}

// TestJSONFiles checks that every JSON file under deploy/ parses.
func TestJSONFiles(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" {
			return err
		}
		n++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Errorf("found %d JSON files, want the two MinIO and the two IAM policies", n)
	}
}

func TestPolicies(t *testing.T) {
	objectActions := []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}
	edgeWant := map[string][]string{
		"s3:ListBucket": {"arn:aws:s3:::" + bucket},
		"s3:GetObject":  {"arn:aws:s3:::" + bucket + "/*"},
	}
	pubWant := map[string][]string{"s3:ListBucket": {"arn:aws:s3:::" + bucket}}
	for _, a := range objectActions {
		pubWant[a] = []string{"arn:aws:s3:::" + bucket + "/*"}
	}
	for _, tc := range []struct {
		files []string
		want  map[string][]string
	}{
		{[]string{"minio/edge-readonly.json", "k8s/iam-edge-readonly.json"}, edgeWant},
		{[]string{"minio/publisher-readwrite.json", "k8s/iam-publisher-readwrite.json"}, pubWant},
	} {
		for _, f := range tc.files {
			got := readPolicy(t, f).allowed()
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%s allows %v, want exactly %v", f, got, tc.want)
			}
		}
	}
	// Spelled out, since it is the point: the edges can write nothing.
	for _, f := range []string{"minio/edge-readonly.json", "k8s/iam-edge-readonly.json"} {
		for a := range readPolicy(t, f).allowed() {
			if a != "s3:GetObject" && a != "s3:ListBucket" {
				t.Errorf("%s allows %s: edges may only list and read", f, a)
			}
			if strings.Contains(a, "Put") || strings.Contains(a, "Delete") {
				t.Errorf("%s allows %s", f, a)
			}
		}
	}
	// Every policy file in deploy/minio is applied by setup.sh.
	script, err := os.ReadFile(filepath.Join("minio", "setup.sh"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("minio", "*.json"))
	for _, f := range files {
		if !strings.Contains(string(script), "/policies/"+filepath.Base(f)) {
			t.Errorf("deploy/minio/setup.sh does not apply %s", f)
		}
	}
}

// ---- secrets ---------------------------------------------------------------

var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`\b(AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b`),                          // AWS access key id
	regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{36,}\b`),                                 // GitHub token
	regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{22,}`),                                 // GitHub fine-grained token
	regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`),                             // any private key
	regexp.MustCompile(`\bxox[abprs]-[A-Za-z0-9-]{10,}`),                                 // Slack token
	regexp.MustCompile(`(?i)aws_secret_access_key["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{40}`), // AWS secret key
	regexp.MustCompile(`(?i)(password|secret)["']?\s*[:=]\s*["']?[0-9a-f]{32,}\b`),       // a long hex secret
}

// findSecrets returns "path: pattern" for each file that looks like it holds
// a real secret.
func findSecrets(paths ...string) ([]string, error) {
	var found []string
	for _, root := range paths {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, re := range secretPatterns {
				if m := re.Find(b); m != nil {
					found = append(found, fmt.Sprintf("%s: %.12s…", path, m))
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

func TestNoSecrets(t *testing.T) {
	found, err := findSecrets(".", filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("looks like a real secret: %s", f)
	}

	// The patterns do catch what they are meant to (samples made here, so
	// that this file holds none).
	dir := t.TempDir()
	samples := []string{
		"AWS_ACCESS_KEY_ID: AKIA" + strings.Repeat("Q", 16),
		"token: ghp_" + strings.Repeat("a1", 18),
		"github_pat_" + strings.Repeat("B", 30),
		"-----BEGIN " + "RSA PRIVATE KEY-----",
		"AWS_SECRET_ACCESS_KEY=" + strings.Repeat("aB3/", 10),
		"MINIO_ROOT_PASSWORD: " + strings.Repeat("0f", 16),
	}
	for i, s := range samples {
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), []byte("x\n"+s+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "clean"), []byte("AWS_SECRET_ACCESS_KEY: REPLACE_ME-edge-read-only-secret-access-key\nMINIO_ROOT_PASSWORD: ${MINIO_ROOT_PASSWORD:-freshrepos-local-only}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	found, err = findSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != len(samples) {
		t.Errorf("the patterns found %q in %d samples and a clean file", found, len(samples))
	}
}
