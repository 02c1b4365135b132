package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// benchMasterKey is the fixed master key of every bench server, so that two
// instances on one database can open each other's secrets.
var benchMasterKey = strings.Repeat("5e", 32)

// buildServer compiles cmd/alumnipass the way `make build` does, so the
// numbers are those of the binary that ships.
// With symbols set, the symbol table stays in (for perf).
func buildServer(ctx context.Context, bin string, symbols bool) (string, error) {
	ldflags := "-s -w"
	if symbols {
		ldflags = ""
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, "./cmd/alumnipass")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/alumnipass: %w\n%s", err, out)
	}
	return bin, nil
}

// serverEnv is the environment of a child: the parent's, minus anything that
// configures alumnipass, plus vars (NAME=value).
func serverEnv(vars ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "ALUMNIPASS_") || strings.HasPrefix(name, "DATABASE_URL") || name == "GOMAXPROCS" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, vars...)
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// server is one running `alumnipass serve` child process.
type server struct {
	name    string
	url     string
	cmd     *exec.Cmd
	logPath string
	started time.Time
	exited  chan struct{}
	waitErr error
}

// launch starts `alumnipass serve` with env plus address, base URL, master
// key and log level; it returns as soon as the process exists.
func launch(binary, name, logDir string, env []string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &server{name: name, url: "http://" + addr, logPath: filepath.Join(logDir, name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(binary, "serve")
	s.cmd.Env = append(env, "ALUMNIPASS_ADDR="+addr, "ALUMNIPASS_BASE_URL="+s.url,
		"ALUMNIPASS_MASTER_KEY="+benchMasterKey, "ALUMNIPASS_LOG_LEVEL=warn", "ALUMNIPASS_LOG_FORMAT=text")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// If apbench dies without cleaning up, the kernel ends the server too.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s.started = time.Now()
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	return s, nil
}

// waitReady polls GET /readyz every poll until it answers 200 and returns
// the time from exec to that answer.
func (s *server) waitReady(ctx context.Context, poll, timeout time.Duration) (time.Duration, error) {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/readyz", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(s.started), nil
			}
		}
		select {
		case <-s.exited:
			return 0, fmt.Errorf("%s exited before it was ready (%v):\n%s", s.name, s.waitErr, s.logTail())
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(poll):
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s not ready after %s:\n%s", s.name, timeout, s.logTail())
		}
	}
}

// stop sends SIGTERM (a graceful drain) and SIGKILL after 15 s.
func (s *server) stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("%s did not stop within 15 s of SIGTERM; killed", s.name)
	}
}

// logTail is the end of the server's output, for error messages.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// rssKB is the resident set size (VmRSS) of the server process in KiB.
func (s *server) rssKB() (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times on Linux.
const clockTicks = 100

// processCPU is the user+system CPU time a process has used, from
// /proc/<pid>/stat.
func processCPU(pid int) (time.Duration, string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", err
	}
	open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return 0, "", errors.New("unexpected /proc stat format")
	}
	comm := string(b[open+1 : closing])
	fields := strings.Fields(string(b[closing+1:]))
	if len(fields) < 13 {
		return 0, "", errors.New("short /proc stat")
	}
	// After the command come state (field 3) … utime (14) and stime (15).
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks, comm, nil
}

// postgresCPU sums the CPU time of the postgres processes that work for
// the bench: the backends connected to database (all of them when database
// is ""), plus the server's own background processes (WAL writer,
// checkpointer, …). Backends of other databases are left out: on a shared
// machine other people's tests use the same PostgreSQL server. When
// postmaster is set (apbench's own cluster) only that server and its
// children count, so other clusters' WAL writers and checkpointers (other
// people's tests, which start clusters of their own) do not.
func postgresCPU(database string, postmaster int) time.Duration {
	entries, _ := os.ReadDir("/proc")
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		d, comm, err := processCPU(pid)
		if err != nil || comm != "postgres" {
			continue
		}
		if postmaster > 0 && pid != postmaster && parentPID(pid) != postmaster {
			continue
		}
		if database != "" {
			// "postgres: 15/main: user db 127.0.0.1(5432) idle" for a backend.
			title, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			backend := bytes.Contains(title, []byte("127.0.0.1(")) || bytes.Contains(title, []byte("[local]")) || bytes.Contains(title, []byte("::1("))
			if backend && !bytes.Contains(title, []byte(" "+database+" ")) {
				continue
			}
		}
		total += d
	}
	return total
}

// parentPID is a process's parent, from /proc/<pid>/stat (0 when unknown).
func parentPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	closing := bytes.LastIndexByte(b, ')')
	if closing < 0 {
		return 0
	}
	fields := strings.Fields(string(b[closing+1:]))
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// machineBusy is the CPU time the whole machine has spent busy (all cores,
// all processes), from the first line of /proc/stat.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// selfCPU is the CPU time of this process: the load generator.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startPerf records every CPU on the machine for d with call graphs; wait
// for the returned command to finish.
func startPerf(file string, d time.Duration) (*exec.Cmd, error) {
	cmd := exec.Command("perf", "record", "-a", "-g", "-F", "499", "-o", file, "--", "sleep", strconv.FormatFloat(d.Seconds(), 'f', 1, 64))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf: %w", err)
	}
	return cmd, nil
}

// runCLI runs a one-shot alumnipass subcommand and returns its stdout.
func runCLI(ctx context.Context, binary string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("alumnipass %s: %w\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// microPackages are the packages whose go test benchmarks the report
// includes: the code format, the verify decision, answer and log (on both
// databases), and the CSV import parser.
var microPackages = []string{"./internal/credential/", "./internal/verify/", "./internal/csvimport/"}

// runMicroBenchmarks runs the packages' benchmarks once, echoing them to
// the log as they come, and returns the output.
func runMicroBenchmarks(ctx context.Context, log io.Writer) (string, error) {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1"}, microPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, log)
	cmd.Stderr = io.MultiWriter(&out, log)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}
