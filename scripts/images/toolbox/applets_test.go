package main

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func write(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCat(t *testing.T) {
	d := t.TempDir()
	a := write(t, filepath.Join(d, "a"), "A\n")
	out, errOut, code := call(t, "IN\n", "cat", a, "-", filepath.Join(d, "missing"), a)
	if code != 1 || out != "A\nIN\nA\n" || errOut != "cat: "+filepath.Join(d, "missing")+": no such file or directory\n" {
		t.Errorf("cat: %d %q %q", code, out, errOut)
	}
}

func TestGrep(t *testing.T) {
	in := "CapEff:\t0\nNoNewPrivs:\t1\nName:\tx\nSeccomp:\t2\n"
	for _, tt := range []struct {
		args []string
		out  string
		code int
	}{
		{[]string{"-E", "^(Cap|NoNewPrivs|Seccomp)"}, "CapEff:\t0\nNoNewPrivs:\t1\nSeccomp:\t2\n", 0},
		{[]string{"^\\(Cap\\|Name\\)"}, "CapEff:\t0\nName:\tx\n", 0},
		{[]string{"(Cap)"}, "", 1}, // a BRE's ( is a literal
		{[]string{"-v", "-E", "Cap|Name"}, "NoNewPrivs:\t1\nSeccomp:\t2\n", 0},
		{[]string{"-q", "Seccomp"}, "", 0},
		{[]string{"-q", "nothing"}, "", 1},
		{[]string{"-c", "-i", "cap"}, "1\n", 0},
		{[]string{"-F", "-x", "Name:\tx"}, "Name:\tx\n", 0},
		{[]string{"-n", "-e", "Name", "-e", "Seccomp"}, "3:Name:\tx\n4:Seccomp:\t2\n", 0},
	} {
		out, errOut, code := call(t, in, append([]string{"grep"}, tt.args...)...)
		if out != tt.out || code != tt.code {
			t.Errorf("grep %q: %d %q %q, want %d %q", tt.args, code, out, errOut, tt.code, tt.out)
		}
	}
	if _, errOut, code := call(t, "", "grep", "-E", "("); code != 2 || !strings.HasPrefix(errOut, "grep: bad pattern") {
		t.Errorf("bad pattern: %d %q", code, errOut)
	}
	if _, _, code := call(t, "", "grep", "x", "/no/such"); code != 2 {
		t.Errorf("missing file: %d, want 2", code)
	}
}

func TestSortHeadWc(t *testing.T) {
	if out, _, _ := call(t, "b 2\na 1\nb 2\nc\n", "sort", "-u"); out != "a 1\nb 2\nc\n" {
		t.Errorf("sort -u: %q", out)
	}
	if out, _, _ := call(t, "10\n9\n100\n", "sort", "-n", "-r"); out != "100\n10\n9\n" {
		t.Errorf("sort -nr: %q", out)
	}
	if out, _, _ := call(t, "1\n2\n3\n", "head", "-n", "2"); out != "1\n2\n" {
		t.Errorf("head -n 2: %q", out)
	}
	if out, _, _ := call(t, "1\n2\n3\n", "head", "-1"); out != "1\n" {
		t.Errorf("head -1: %q", out)
	}
	if out, _, _ := call(t, "a b\nc\n", "wc", "-l"); out != "2\n" {
		t.Errorf("wc -l: %q", out)
	}
	if out, _, _ := call(t, "a b\nc\n", "wc"); out != "2 3 6\n" {
		t.Errorf("wc: %q", out)
	}
}

func TestFiles(t *testing.T) {
	d := t.TempDir()
	p := func(n string) string { return filepath.Join(d, n) }
	mustCall := func(args ...string) {
		t.Helper()
		if _, errOut, code := call(t, "", args...); code != 0 {
			t.Fatalf("%q: exit %d %s", args, code, errOut)
		}
	}
	mustCall("mkdir", "-p", p("x/y/z"))
	mustCall("mkdir", "-p", p("x/y"))
	if _, errOut, code := call(t, "", "mkdir", p("x")); code != 1 || !strings.Contains(errOut, "file exists") {
		t.Errorf("mkdir existing: %d %q", code, errOut)
	}
	write(t, p("x/y/z/f"), "data")
	mustCall("touch", p("t"), p("x/y/z/f"))
	if b, _ := os.ReadFile(p("x/y/z/f")); string(b) != "data" {
		t.Errorf("touch changed the content: %q", b)
	}
	mustCall("cp", p("x/y/z/f"), p("g"))
	mustCall("cp", "-r", p("x"), p("x2"))
	if b, _ := os.ReadFile(p("x2/y/z/f")); string(b) != "data" {
		t.Errorf("cp -r: %q", b)
	}
	if _, errOut, code := call(t, "", "cp", p("x"), p("x3")); code != 1 || !strings.Contains(errOut, "is a directory") {
		t.Errorf("cp dir: %d %q", code, errOut)
	}
	mustCall("chmod", "4755", p("g"))
	if st, _ := os.Stat(p("g")); st.Mode() != fs.ModeSetuid|0o755 {
		t.Errorf("chmod 4755: %v", st.Mode())
	}
	mustCall("chmod", "644", p("g"))
	mustCall("chmod", "+x", p("g"))
	if st, _ := os.Stat(p("g")); st.Mode() != 0o755 {
		t.Errorf("chmod +x: %v", st.Mode())
	}
	mustCall("chmod", "go-rx,u+s", p("g"))
	if st, _ := os.Stat(p("g")); st.Mode() != fs.ModeSetuid|0o700 {
		t.Errorf("chmod go-rx,u+s: %v", st.Mode())
	}
	if _, errOut, code := call(t, "", "chmod", "99", p("g")); code != 2 || !strings.Contains(errOut, "invalid mode") {
		t.Errorf("chmod 99: %d %q", code, errOut)
	}
	mustCall("ln", "-s", "/etc/passwd", p("sym"))
	if tgt, _ := os.Readlink(p("sym")); tgt != "/etc/passwd" {
		t.Errorf("ln -s: %q", tgt)
	}
	mustCall("ln", p("g"), p("hard"))
	var st syscall.Stat_t
	if err := syscall.Stat(p("g"), &st); err != nil || st.Nlink != 2 {
		t.Errorf("ln: nlink %d %v", st.Nlink, err)
	}
	mustCall("ln", "-sf", "other", p("sym"))
	if tgt, _ := os.Readlink(p("sym")); tgt != "other" {
		t.Errorf("ln -sf: %q", tgt)
	}
	mustCall("mkfifo", p("fifo"))
	if st, err := os.Lstat(p("fifo")); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("mkfifo: %v %v", st, err)
	}
	out, _, _ := call(t, "", "ls", p("x/y"))
	if out != "z\n" {
		t.Errorf("ls: %q", out)
	}
	out, _, _ = call(t, "", "ls", "-l", p("sym"))
	if !strings.HasPrefix(out, "L") || !strings.HasSuffix(out, p("sym")+" -> other\n") {
		t.Errorf("ls -l: %q", out)
	}
	if _, errOut, code := call(t, "", "rm", p("x")); code != 1 || !strings.Contains(errOut, "is a directory") {
		t.Errorf("rm dir: %d %q", code, errOut)
	}
	mustCall("rm", "-rf", p("x"), p("x2"), p("never-there"))
	if _, err := os.Stat(p("x")); !os.IsNotExist(err) {
		t.Errorf("rm -rf left %s", p("x"))
	}
	if _, _, code := call(t, "", "rm", p("never-there")); code != 1 {
		t.Errorf("rm missing without -f: %d", code)
	}
}

func TestMknodMount(t *testing.T) {
	d := t.TempDir()
	// As root these would succeed; the tests run as root here, so check the
	// syscall error paths with arguments that fail for everyone.
	if _, errOut, code := call(t, "", "mknod", filepath.Join(d, "no/dir/null"), "c", "1", "3"); code != 1 ||
		errOut != "mknod: "+filepath.Join(d, "no/dir/null")+": no such file or directory\n" {
		t.Errorf("mknod: %d %q", code, errOut)
	}
	if _, errOut, code := call(t, "", "mknod", "x", "q", "1", "3"); code != 2 || !strings.Contains(errOut, "usage") {
		t.Errorf("mknod bad type: %d %q", code, errOut)
	}
	if _, errOut, code := call(t, "", "mount", "-t", "nosuchfs", "none", d); code != 1 ||
		!strings.HasPrefix(errOut, "mount: mounting none on "+d+" failed: ") {
		t.Errorf("mount: %d %q", code, errOut)
	}
	if os.Geteuid() != 0 {
		if _, errOut, code := call(t, "", "mount", "-t", "tmpfs", "none", d); code != 1 || !strings.Contains(errOut, "operation not permitted") {
			t.Errorf("mount as non-root: %d %q", code, errOut)
		}
	}
}

func TestDd(t *testing.T) {
	d := t.TempDir()
	out := filepath.Join(d, "out")
	_, errOut, code := call(t, "", "dd", "if=/dev/zero", "of="+out, "bs=1K", "count=3")
	if st, err := os.Stat(out); code != 0 || err != nil || st.Size() != 3072 || !strings.Contains(errOut, "3+0 records in") {
		t.Errorf("dd: %d %q %v", code, errOut, err)
	}
	o, _, _ := call(t, "abcdefgh", "dd", "bs=3", "status=none")
	if o != "abcdefgh" {
		t.Errorf("dd stdin: %q", o)
	}
	o, _, _ = call(t, "abcdefgh", "dd", "bs=2", "skip=1", "count=2", "status=none")
	if o != "cdef" {
		t.Errorf("dd skip count: %q", o)
	}
	for v, want := range map[string]int64{"512": 512, "4K": 4096, "2k": 2048, "16M": 16 << 20, "1G": 1 << 30, "3b": 1536} {
		if n, err := ddSize(v); err != nil || n != want {
			t.Errorf("ddSize(%q) = %d %v, want %d", v, n, err, want)
		}
	}
	if _, errOut, code := call(t, "", "dd", "bs=1X"); code != 2 || !strings.Contains(errOut, "invalid number") {
		t.Errorf("dd bs=1X: %d %q", code, errOut)
	}
}

func TestIdDateUnameSleepEnv(t *testing.T) {
	out, _, _ := call(t, "", "id", "-u")
	if strings.TrimSpace(out) != itoa(os.Geteuid()) {
		t.Errorf("id -u: %q", out)
	}
	out, _, _ = call(t, "", "id", "-g")
	if strings.TrimSpace(out) != itoa(os.Getegid()) {
		t.Errorf("id -g: %q", out)
	}
	out, _, _ = call(t, "", "date", "-u", "+%Y-%m-%dT%H:%M:%S %%")
	if _, err := time.Parse("2006-01-02T15:04:05 %\n", out); err != nil {
		t.Errorf("date +FORMAT: %q: %v", out, err)
	}
	out, _, _ = call(t, "", "date", "-u")
	if _, err := time.Parse("Mon Jan _2 15:04:05 MST 2006\n", out); err != nil || !strings.Contains(out, "UTC") {
		t.Errorf("date -u: %q %v", out, err)
	}
	if s, _ := strftime(time.Unix(86400*365, 5).UTC(), "%s %N %j %e %F %T"); s != "31536000 000000005 001  1 1971-01-01 00:00:00" {
		t.Errorf("strftime: %q", s)
	}
	if out, _, _ := call(t, "", "uname", "-s", "-m"); !strings.HasPrefix(out, "Linux ") {
		t.Errorf("uname: %q", out)
	}
	start := time.Now()
	if _, _, code := call(t, "", "sleep", "0.1", "0.1s"); code != 0 || time.Since(start) < 200*time.Millisecond {
		t.Errorf("sleep: %d after %s", code, time.Since(start))
	}
	if _, errOut, code := call(t, "", "sleep", "1x"); code != 2 || !strings.Contains(errOut, "invalid time interval") {
		t.Errorf("sleep 1x: %d %q", code, errOut)
	}
	t.Setenv("TOOLBOX_TEST", "yes")
	if out, _, _ := call(t, "", "env"); !strings.Contains(out, "TOOLBOX_TEST=yes\n") {
		t.Errorf("env lacks TOOLBOX_TEST")
	}
	if _, _, code := call(t, "", "false"); code != 1 {
		t.Errorf("false: %d", code)
	}
	if out, _, _ := call(t, "", "echo", "-n", "a", "b"); out != "a b" {
		t.Errorf("echo -n: %q", out)
	}
	if out, _, _ := call(t, "", "printf", `%s-\101\n`, "x", "y"); out != "x-A\ny-A\n" {
		t.Errorf("printf: %q", out)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestNc(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 5)
		n, _ := c.Read(buf)
		c.Write([]byte("got " + string(buf[:n])))
		c.Close()
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	out, errOut, code := call(t, "hello", "nc", "-w", "3", "127.0.0.1", itoa(port))
	if code != 0 || out != "got hello" {
		t.Errorf("nc: %d %q %q", code, out, errOut)
	}
	ln.Close()
	if _, errOut, code := call(t, "", "nc", "-w", "1", "127.0.0.1", itoa(port)); code != 1 || !strings.Contains(errOut, "connection refused") {
		t.Errorf("nc to a closed port: %d %q", code, errOut)
	}
}
