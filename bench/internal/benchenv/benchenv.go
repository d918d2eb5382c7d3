// Package benchenv holds what the benchmarks that run slsabox share: the machine they
// ran on, its load, and throwaway git projects to build.
package benchenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Host describes the machine, for the report beside the figures.
type Host struct {
	CPUs     int    `json:"cpus"`
	MemTotal string `json:"memTotal"`
	OS       string `json:"os"`
	Kernel   string `json:"kernel"`
}

// ReadHost reads /proc and /etc/os-release; what it cannot read stays empty.
func ReadHost() Host {
	h := Host{CPUs: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				h.MemTotal = strings.TrimSpace(v)
			}
		}
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				h.OS = strings.Trim(v, `"`)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	return h
}

// LoadAvg returns the 1, 5 and 15-minute load averages as /proc/loadavg prints them.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// BusyCPU returns the CPU time the whole machine has spent busy (user, nice, system,
// irq, softirq and steal from the first line of /proc/stat), in seconds since boot,
// or -1 when it cannot be read. The difference of two calls is the CPU a stretch of
// work used, with whatever else ran meanwhile.
func BusyCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return -1
	}
	var busy float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system (idle iowait) irq softirq steal
		var v float64
		if _, err := fmt.Sscan(f[i], &v); err != nil {
			return -1
		}
		busy += v
	}
	return busy / 100 // USER_HZ is 100 on Linux
}

// Busy reports whether a LoadAvg triple shows more than a benchmark's own load
// (1-minute average above limit): other work disturbs the ratios.
func Busy(loadavg string, limit float64) bool {
	var one float64
	_, err := fmt.Sscan(loadavg, &one)
	return err == nil && one > limit
}

// GitProject writes files into a new directory dir and commits them as one commit
// with a fixed date (so SOURCE_DATE_EPOCH is fixed too), without the caller's git
// configuration.
func GitProject(dir string, files map[string]string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	env := append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@slsabox.invalid", "GIT_AUTHOR_DATE=2026-01-01T00:00:00Z",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@slsabox.invalid", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "-m", "bench " + filepath.Base(dir)}} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w: %s", args[0], err, out)
		}
	}
	return nil
}

// Fail prints err (and a hint) the way every benchmark does, and exits 1.
func Fail(err error, hint string) {
	fmt.Fprintf(os.Stderr, "bench: error: %v\n", err)
	if hint != "" {
		fmt.Fprintf(os.Stderr, "bench: hint: %s\n", hint)
	}
	os.Exit(1)
}

// EnvOr is the environment variable name, or def when it is empty.
func EnvOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Processes returns the pids of the processes other than this one whose command line
// (their arguments joined by spaces, with a space at the end) match is true for.
func Processes(match func(cmdline string) bool) []string {
	self := fmt.Sprint(os.Getpid())
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []string
	for _, p := range procs {
		pid := filepath.Base(filepath.Dir(p))
		if pid == self {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		if match(strings.ReplaceAll(string(b), "\x00", " ")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Timed runs cmd and returns its wall time; on failure the error carries its stderr.
func Timed(cmd *exec.Cmd) (float64, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start).Seconds()
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return wall, nil
}

// Logf writes a progress line to stderr.
func Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }

// Report is what a benchmark prints and, with -json, writes.
type Report interface{ Print(w io.Writer) }

// Main runs a benchmark until it ends or SIGINT/SIGTERM, prints its report, writes it
// as JSON to jsonOut when that is set, and exits 1 on failure.
func Main(run func(ctx context.Context) (Report, error), jsonOut string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx)
	if rep != nil {
		rep.Print(os.Stdout)
		if jsonOut != "" {
			if werr := writeJSON(jsonOut, rep); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		Fail(err, "")
	}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
