package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ownCluster is a PostgreSQL cluster apbench makes for one run, set up as
// docs/operations.md tells an operator to set up the production server
// (shared_buffers a quarter of the memory, a checkpoint distance that
// does not force checkpoints during a burst), with durability left as it
// ships: fsync and synchronous_commit on. The cold phases read 1,000,000
// cards and members, about 1.5 GB with their indexes; under the 128 MB
// shared_buffers that Debian's packaged server starts with, every first
// scan of a card reads eight pages from the operating system, and the
// bench measured that setting instead of the service.
type ownCluster struct {
	bin      string // PostgreSQL's bin directory
	dir      string // the cluster's directory, removed at the end
	data     string
	port     int
	asUser   []string // command prefix that runs as the postgres OS user, as root
	settings []string // -c name=value, for the report
}

// startOwnCluster initialises and starts a cluster in workDir.
func startOwnCluster(ctx context.Context, workDir, extra string) (*ownCluster, error) {
	c := &ownCluster{dir: filepath.Join(workDir, "pg")}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		p, err := exec.LookPath("initdb")
		if err != nil {
			return nil, fmt.Errorf("initdb not found (in /usr/lib/postgresql/*/bin or on PATH); or run with -pg url -database-url …")
		}
		matches = []string{p}
	}
	sort.Slice(matches, func(i, j int) bool { return majorOf(matches[i]) > majorOf(matches[j]) })
	c.bin = filepath.Dir(matches[0])
	c.data = filepath.Join(c.dir, "data")
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root without a postgres OS user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, d := range []string{workDir, c.dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				return nil, err
			}
		}
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return nil, err
		}
		if err := os.Chown(c.data, uid, gid); err != nil {
			return nil, err
		}
		c.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	if out, err := c.command(ctx, filepath.Join(c.bin, "initdb"), "-D", c.data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C.UTF-8").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	mem := memTotal()
	shared := max(128<<20, min(mem/4, 8<<30))
	c.settings = []string{
		fmt.Sprintf("shared_buffers=%dMB", shared>>20),
		fmt.Sprintf("effective_cache_size=%dMB", max(256<<20, mem/2)>>20),
		"max_connections=200", "max_wal_size=8GB", "checkpoint_timeout=15min", "wal_compression=on",
	}
	for _, s := range strings.Split(extra, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if !strings.Contains(s, "=") || strings.ContainsAny(s, " '\"") {
				return nil, fmt.Errorf("-pg-settings: %q is not name=value", s)
			}
			c.settings = append(c.settings, s)
		}
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", c.port, c.dir)
	for _, s := range c.settings {
		opts += " -c " + s
	}
	if out, err := c.command(ctx, filepath.Join(c.bin, "pg_ctl"), "-D", c.data, "-w", "-t", "120",
		"-l", filepath.Join(c.dir, "postgres.log"), "-o", opts, "start").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pg_ctl start: %w\n%s", err, out)
	}
	return c, nil
}

// postmasterPID is the server's process id, the first line of
// postmaster.pid (0 when it cannot be read).
func (c *ownCluster) postmasterPID() int {
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// url is the cluster's administrative URL.
func (c *ownCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// describe is the line of the report that says which server ran.
func (c *ownCluster) describe() string {
	return "its own cluster, started by apbench with " + strings.Join(c.settings, ", ") + " (fsync and synchronous_commit on, as shipped)"
}

// stop stops the cluster; the work directory's removal deletes it.
func (c *ownCluster) stop() error {
	out, err := c.command(context.Background(), filepath.Join(c.bin, "pg_ctl"), "-D", c.data, "-w", "-t", "60", "-m", "fast", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

func (c *ownCluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if len(c.asUser) > 0 {
		args = append(append(append([]string{}, c.asUser[1:]...), name), args...)
		name = c.asUser[0]
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.dir
	return cmd
}

func majorOf(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// memTotal is the machine's memory from /proc/meminfo (1 GiB when unknown).
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 1 << 30
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return 1 << 30
}
