package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func trueCmd(*stdio, []string) error  { return nil }
func falseCmd(*stdio, []string) error { return exitError(1) }

// id [-u|-g|-G] [-n] [-r]: effective ids unless -r; names need /etc/passwd.
func id(s *stdio, args []string) error {
	o, err := parseFlags("id", args, "ugGnr", "")
	if err != nil {
		return err
	}
	if len(o.args) > 0 {
		return usagef("id shows the caller only; USER arguments are not supported")
	}
	uid, gid := os.Geteuid(), os.Getegid()
	if o.set['r'] {
		uid, gid = os.Getuid(), os.Getgid()
	}
	uname := func(u int) string {
		if x, err := user.LookupId(strconv.Itoa(u)); err == nil {
			return x.Username
		}
		return strconv.Itoa(u)
	}
	gname := func(g int) string {
		if x, err := user.LookupGroupId(strconv.Itoa(g)); err == nil {
			return x.Name
		}
		return strconv.Itoa(g)
	}
	groups, err := os.Getgroups()
	if err != nil {
		return err
	}
	if len(groups) == 0 || groups[0] != gid {
		groups = append([]int{gid}, groups...)
	}
	switch {
	case o.set['u'] && o.set['n']:
		fmt.Fprintln(s.out, uname(uid))
	case o.set['u']:
		fmt.Fprintln(s.out, uid)
	case o.set['g'] && o.set['n']:
		fmt.Fprintln(s.out, gname(gid))
	case o.set['g']:
		fmt.Fprintln(s.out, gid)
	case o.set['G']:
		var f []string
		for _, g := range groups {
			if o.set['n'] {
				f = append(f, gname(g))
			} else {
				f = append(f, strconv.Itoa(g))
			}
		}
		fmt.Fprintln(s.out, strings.Join(f, " "))
	default:
		named := func(n int, name string) string {
			if name == strconv.Itoa(n) {
				return name
			}
			return fmt.Sprintf("%d(%s)", n, name)
		}
		var f []string
		for _, g := range groups {
			f = append(f, named(g, gname(g)))
		}
		fmt.Fprintf(s.out, "uid=%s gid=%s groups=%s\n", named(uid, uname(uid)), named(gid, gname(gid)), strings.Join(f, ","))
	}
	return nil
}

// uname [-asnrvm]
func uname(s *stdio, args []string) error {
	o, err := parseFlags("uname", args, "asnrvmpio", "")
	if err != nil {
		return err
	}
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return err
	}
	str := func(b [65]int8) string {
		var sb strings.Builder
		for _, c := range b {
			if c == 0 {
				break
			}
			sb.WriteByte(byte(c))
		}
		return sb.String()
	}
	fields := []struct {
		flag byte
		val  string
	}{{'s', str(u.Sysname)}, {'n', str(u.Nodename)}, {'r', str(u.Release)}, {'v', str(u.Version)}, {'m', str(u.Machine)}, {'o', "Linux"}}
	var out []string
	for _, f := range fields {
		if o.set['a'] && f.flag != 'o' || o.set[f.flag] {
			out = append(out, f.val)
		}
	}
	if len(out) == 0 {
		out = []string{str(u.Sysname)}
	}
	fmt.Fprintln(s.out, strings.Join(out, " "))
	return nil
}

// sleep DURATION...: seconds, fractions allowed, suffixes s m h d; the
// durations add up.
func sleep(s *stdio, args []string) error {
	if len(args) == 0 {
		return usagef("usage: sleep SECONDS[smhd]...")
	}
	var total time.Duration
	for _, a := range args {
		unit := time.Second
		num := a
		if n := len(a); n > 0 {
			switch a[n-1] {
			case 's':
				num = a[:n-1]
			case 'm':
				num, unit = a[:n-1], time.Minute
			case 'h':
				num, unit = a[:n-1], time.Hour
			case 'd':
				num, unit = a[:n-1], 24*time.Hour
			}
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 || strings.ContainsAny(num, "xXpPeEiInN_") {
			return usagef("invalid time interval %q: write seconds, e.g. 5, 0.5 or 2m", a)
		}
		total += time.Duration(f * float64(unit))
	}
	time.Sleep(total)
	return nil
}

// date [-u] [+FORMAT]: the clock, in the default format of date(1) or in
// FORMAT's strftime conversions (%Y %m %d %H %M %S %N %s %z %Z %a %A %b %B
// %e %j %y %F %T %D %R %n %t %%).
func date(s *stdio, args []string) error {
	o, err := parseFlags("date", args, "uR", "")
	if err != nil {
		return err
	}
	now := time.Now()
	if o.set['u'] {
		now = now.UTC()
	}
	format := "%a %b %e %H:%M:%S %Z %Y"
	if o.set['R'] {
		format = "%a, %d %b %Y %H:%M:%S %z"
	}
	switch {
	case len(o.args) == 1 && strings.HasPrefix(o.args[0], "+"):
		format = o.args[0][1:]
	case len(o.args) > 0:
		return usagef("date only prints the time: date [-u] [+FORMAT]")
	}
	out, err := strftime(now, format)
	if err != nil {
		return err
	}
	fmt.Fprintln(s.out, out)
	return nil
}

func strftime(t time.Time, format string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch c := format[i]; c {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'N':
			fmt.Fprintf(&b, "%09d", t.Nanosecond())
		case 's':
			fmt.Fprintf(&b, "%d", t.Unix())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'R':
			b.WriteString(t.Format("15:04"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '%':
			b.WriteByte('%')
		default:
			return "", usagef("unsupported conversion %%%c in the format", c)
		}
	}
	return b.String(), nil
}

// dd [if=FILE] [of=FILE] [bs=N] [count=N] [skip=N] [seek=N] [status=none]:
// N takes the suffixes c w b K k M G T (powers of 1024, b is 512). dd
// allocates one bs-sized buffer and fills it completely before each write
// (GNU's iflag=fullblock), so bs=512M from /dev/zero really uses 512 MiB.
func dd(s *stdio, args []string) error {
	var (
		in            io.Reader = s.in
		out           io.Writer = s.out
		inFile        *os.File
		bs            int64 = 512
		count         int64 = -1
		skip, seek    int64
		quiet         bool
		ifName, ofNam string
	)
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return usagef("operand %q is not KEY=VALUE (dd knows if of bs count skip seek status)", a)
		}
		var err error
		switch k {
		case "if":
			ifName = v
		case "of":
			ofNam = v
		case "bs", "ibs", "obs":
			bs, err = ddSize(v)
			if err == nil && bs <= 0 {
				err = usagef("bs must be at least 1")
			}
		case "count":
			count, err = ddSize(v)
		case "skip":
			skip, err = ddSize(v)
		case "seek":
			seek, err = ddSize(v)
		case "status":
			quiet = v == "none"
		default:
			return usagef("unknown operand %s (dd knows if of bs count skip seek status)", k)
		}
		if err != nil {
			return err
		}
	}
	if ifName != "" {
		f, err := os.Open(ifName)
		if err != nil {
			return err
		}
		defer f.Close()
		in, inFile = f, f
	}
	if ofNam != "" {
		flags := os.O_WRONLY | os.O_CREATE
		if seek == 0 {
			flags |= os.O_TRUNC
		}
		f, err := os.OpenFile(ofNam, flags, 0o666)
		if err != nil {
			return err
		}
		defer f.Close()
		if seek > 0 {
			if _, err := f.Seek(seek*bs, io.SeekStart); err != nil {
				return err
			}
		}
		out = f
	}
	buf := make([]byte, bs)
	if skip > 0 {
		if inFile != nil {
			if _, err := inFile.Seek(skip*bs, io.SeekCurrent); err == nil {
				skip = 0
			}
		}
		if _, err := io.CopyN(io.Discard, in, skip*bs); err != nil && err != io.EOF {
			return err
		}
	}
	var full, partial, bytes int64
	var err error
	for count < 0 || full+partial < count {
		n, rerr := io.ReadFull(in, buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				err = werr
				break
			}
			bytes += int64(n)
			if n == len(buf) {
				full++
			} else {
				partial++
			}
		}
		if rerr == io.EOF || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	if !quiet {
		fmt.Fprintf(s.err, "%d+%d records in\n%d+%d records out\n%d bytes copied\n", full, partial, full, partial, bytes)
	}
	return err
}

func ddSize(v string) (int64, error) {
	mult := int64(1)
	num := v
	if n := len(v); n > 0 {
		if m, ok := map[byte]int64{'c': 1, 'w': 2, 'b': 512, 'k': 1 << 10, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}[v[n-1]]; ok {
			mult, num = m, v[:n-1]
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, usagef("invalid number %q: write e.g. 512, 4K, 16M or 1G", v)
	}
	return n * mult, nil
}

// mount [-t TYPE] [-o OPTS] SOURCE TARGET: one mount(2) call; with no
// operands it prints /proc/mounts.
func mount(s *stdio, args []string) error {
	o, err := parseFlags("mount", args, "rwn", "to")
	if err != nil {
		return err
	}
	if len(o.args) == 0 {
		return copyFile(s, "/proc/mounts")
	}
	if len(o.args) != 2 {
		return usagef("usage: mount [-t TYPE] [-o OPTS] SOURCE TARGET")
	}
	var flags uintptr
	var data []string
	if o.set['r'] {
		flags |= syscall.MS_RDONLY
	}
	known := map[string]uintptr{
		"ro": syscall.MS_RDONLY, "rw": 0, "nosuid": syscall.MS_NOSUID, "nodev": syscall.MS_NODEV,
		"noexec": syscall.MS_NOEXEC, "remount": syscall.MS_REMOUNT, "bind": syscall.MS_BIND,
		"rbind": syscall.MS_BIND | syscall.MS_REC, "sync": syscall.MS_SYNCHRONOUS, "noatime": syscall.MS_NOATIME,
		"nodiratime": syscall.MS_NODIRATIME, "relatime": syscall.MS_RELATIME, "private": syscall.MS_PRIVATE,
		"rprivate": syscall.MS_PRIVATE | syscall.MS_REC, "defaults": 0,
	}
	if o.set['o'] {
		for _, opt := range strings.Split(o.values['o'], ",") {
			if f, ok := known[opt]; ok {
				if opt == "rw" {
					flags &^= syscall.MS_RDONLY
				}
				flags |= f
			} else if opt != "" {
				data = append(data, opt)
			}
		}
	}
	src, target := o.args[0], o.args[1]
	if err := syscall.Mount(src, target, o.values['t'], flags, strings.Join(data, ",")); err != nil {
		return fmt.Errorf("mounting %s on %s failed: %w", src, target, err)
	}
	return nil
}

// nc [-w SECS] HOST PORT: connects over TCP, copies stdin to the connection
// and the connection to stdout; -w bounds the connect and the wait for the
// peer after stdin ends.
func nc(s *stdio, args []string) error {
	o, err := parseFlags("nc", args, "", "w")
	if err != nil {
		return err
	}
	if len(o.args) != 2 {
		return usagef("usage: nc [-w SECS] HOST PORT")
	}
	wait := time.Duration(0)
	if o.set['w'] {
		secs, err := strconv.ParseFloat(o.values['w'], 64)
		if err != nil || secs <= 0 {
			return usagef("invalid -w %q: write whole seconds", o.values['w'])
		}
		wait = time.Duration(secs * float64(time.Second))
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(o.args[0], o.args[1]), wait)
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(s.out, conn)
		done <- err
	}()
	if _, err := io.Copy(conn, s.in); err != nil {
		return err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	if wait > 0 {
		_ = conn.SetReadDeadline(time.Now().Add(wait))
	}
	if err := <-done; err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return nil
}

// kill [-SIGNAL | -s SIGNAL] PID...: SIGNAL is a number or a name (TERM,
// SIGKILL); the default is TERM. The shell has no kill builtin.
func kill(s *stdio, args []string) error {
	sig := syscall.SIGTERM
	if len(args) > 1 && args[0] == "-s" {
		args = append([]string{"-" + args[1]}, args[2:]...)
	}
	if len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && args[0] != "--" {
		name := strings.TrimPrefix(strings.ToUpper(args[0][1:]), "SIG")
		n, err := strconv.Atoi(name)
		if err != nil {
			var ok bool
			if n, ok = map[string]int{"HUP": 1, "INT": 2, "QUIT": 3, "KILL": 9, "USR1": 10, "USR2": 12, "TERM": 15, "CONT": 18, "STOP": 19}[name]; !ok {
				return usagef("unknown signal %s: write a number or HUP INT QUIT KILL USR1 USR2 TERM CONT STOP", args[0][1:])
			}
		}
		sig, args = syscall.Signal(n), args[1:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return usagef("usage: kill [-SIGNAL] PID...")
	}
	m := &multiError{name: "kill", w: s.err}
	for _, a := range args {
		pid, err := strconv.Atoi(a)
		if err != nil {
			m.add(usagef("%s: not a process id", a))
			continue
		}
		if err := syscall.Kill(pid, sig); err != nil {
			m.add(fmt.Errorf("%d: %w", pid, err))
		}
	}
	return m.result()
}
