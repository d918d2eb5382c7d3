package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cat [FILE|-]...
func cat(s *stdio, args []string) error {
	o, err := parseFlags("cat", args, "u", "")
	if err != nil {
		return err
	}
	if len(o.args) == 0 {
		o.args = []string{"-"}
	}
	m := &multiError{name: "cat", w: s.err}
	for _, f := range o.args {
		m.add(copyFile(s, f))
	}
	return m.result()
}

func copyFile(s *stdio, name string) error {
	if name == "-" {
		_, err := io.Copy(s.out, s.in)
		return err
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(s.out, f); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// cp [-rRapf] SRC... DEST: sources are followed if symlinks (except inside -r
// trees, whose links are copied as links); -p/-a keep modes and times.
func cp(s *stdio, args []string) error {
	o, err := parseFlags("cp", args, "rRapfPdL", "")
	if err != nil {
		return err
	}
	if len(o.args) < 2 {
		return usagef("usage: cp [-rRapf] SRC... DEST")
	}
	rec := o.set['r'] || o.set['R'] || o.set['a']
	keep := o.set['p'] || o.set['a']
	srcs, dst := o.args[:len(o.args)-1], o.args[len(o.args)-1]
	st, err := os.Stat(dst)
	intoDir := err == nil && st.IsDir()
	if len(srcs) > 1 && !intoDir {
		return fmt.Errorf("%s: not a directory (copying several files needs a directory)", dst)
	}
	m := &multiError{name: "cp", w: s.err}
	for _, src := range srcs {
		to := dst
		if intoDir {
			to = filepath.Join(dst, filepath.Base(src))
		}
		m.add(copyPath(src, to, rec, keep, true))
	}
	return m.result()
}

func copyPath(src, dst string, rec, keep, follow bool) error {
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	st, err := stat(src)
	if err != nil {
		return err
	}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(t, dst)
	case st.IsDir():
		if !rec {
			return fmt.Errorf("%s: is a directory (use cp -r)", src)
		}
		if err := os.Mkdir(dst, st.Mode().Perm()|0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		ents, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if err := copyPath(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()), rec, keep, false); err != nil {
				return err
			}
		}
		return finish(dst, st, keep, st.Mode().Perm())
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s: not a regular file, directory or symlink", src)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return finish(dst, st, keep, st.Mode().Perm())
}

func finish(dst string, st fs.FileInfo, keep bool, perm fs.FileMode) error {
	if !keep {
		return nil
	}
	if err := os.Chmod(dst, perm|st.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	return os.Chtimes(dst, st.ModTime(), st.ModTime())
}

// chmod [-R] MODE FILE...: MODE is octal (755, 4755) or symbolic
// ([ugoa]*[+-=][rwxXst]*, comma-separated, e.g. +x, u+s, go-w).
func chmod(s *stdio, args []string) error {
	recursive := false
	if len(args) > 0 && args[0] == "-R" {
		recursive, args = true, args[1:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) < 2 {
		return usagef("usage: chmod [-R] MODE FILE...")
	}
	mode := args[0]
	if _, err := applyMode(mode, 0, false); err != nil {
		return err
	}
	m := &multiError{name: "chmod", w: s.err}
	for _, f := range args[1:] {
		if !recursive {
			m.add(chmodOne(f, mode))
			continue
		}
		m.add(filepath.WalkDir(f, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type()&fs.ModeSymlink != 0 {
				return nil
			}
			return chmodOne(p, mode)
		}))
	}
	return m.result()
}

func chmodOne(name, mode string) error {
	st, err := os.Stat(name)
	if err != nil {
		return err
	}
	bits, err := applyMode(mode, unixMode(st.Mode()), st.IsDir())
	if err != nil {
		return err
	}
	return syscall.Chmod(name, bits)
}

// unixMode turns Go's FileMode into the st_mode permission bits.
func unixMode(m fs.FileMode) uint32 {
	b := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		b |= syscall.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		b |= syscall.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		b |= syscall.S_ISVTX
	}
	return b
}

// applyMode returns the permission bits that MODE gives a file that has cur.
func applyMode(mode string, cur uint32, isDir bool) (uint32, error) {
	if mode != "" && strings.Trim(mode, "01234567") == "" {
		n, err := strconv.ParseUint(mode, 8, 32)
		if err != nil || n > 0o7777 {
			return 0, usagef("invalid mode %q: octal modes go up to 7777", mode)
		}
		return uint32(n), nil
	}
	bad := usagef("invalid mode %q: write an octal mode (755, 4755) or a symbolic one (+x, u+s, go-w)", mode)
	if mode == "" {
		return 0, bad
	}
	for _, clause := range strings.Split(mode, ",") {
		i := 0
		var who uint32
		for ; i < len(clause) && strings.IndexByte("ugoa", clause[i]) >= 0; i++ {
			who |= map[byte]uint32{'u': 0o4700, 'g': 0o2070, 'o': 0o1007, 'a': 0o7777}[clause[i]]
		}
		if who == 0 {
			who = 0o7777
		}
		if i == len(clause) {
			return 0, bad
		}
		for i < len(clause) {
			op := clause[i]
			if strings.IndexByte("+-=", op) < 0 {
				return 0, bad
			}
			i++
			var perm uint32
			for ; i < len(clause) && strings.IndexByte("rwxXst", clause[i]) >= 0; i++ {
				switch clause[i] {
				case 'r':
					perm |= 0o444
				case 'w':
					perm |= 0o222
				case 'x':
					perm |= 0o111
				case 'X':
					if isDir || cur&0o111 != 0 {
						perm |= 0o111
					}
				case 's':
					perm |= 0o6000
				case 't':
					perm |= 0o1000
				}
			}
			perm &= who
			switch op {
			case '+':
				cur |= perm
			case '-':
				cur &^= perm
			case '=':
				cur = cur&^(who&0o6777) | perm
			}
		}
	}
	return cur, nil
}

// ln [-sfn] TARGET LINK, or ln [-sfn] TARGET... DIR: a hard link unless -s.
func ln(s *stdio, args []string) error {
	o, err := parseFlags("ln", args, "sfnT", "")
	if err != nil {
		return err
	}
	if len(o.args) < 2 {
		return usagef("usage: ln [-sf] TARGET LINK")
	}
	targets, dst := o.args[:len(o.args)-1], o.args[len(o.args)-1]
	st, err := os.Stat(dst)
	if o.set['n'] {
		st, err = os.Lstat(dst)
	}
	intoDir := err == nil && st.IsDir() && !o.set['T']
	if len(targets) > 1 && !intoDir {
		return fmt.Errorf("%s: not a directory", dst)
	}
	m := &multiError{name: "ln", w: s.err}
	for _, t := range targets {
		l := dst
		if intoDir {
			l = filepath.Join(dst, filepath.Base(t))
		}
		if o.set['f'] {
			if err := os.Remove(l); err != nil && !errors.Is(err, fs.ErrNotExist) {
				m.add(err)
				continue
			}
		}
		if o.set['s'] {
			m.add(os.Symlink(t, l))
		} else {
			m.add(os.Link(t, l))
		}
	}
	return m.result()
}

// ls [-1adl] [FILE]...: names sorted bytewise, one a line; -l adds mode,
// links, uid, gid, size, mtime (UTC) and a symlink's target.
func ls(s *stdio, args []string) error {
	o, err := parseFlags("ls", args, "1adlA", "")
	if err != nil {
		return err
	}
	if len(o.args) == 0 {
		o.args = []string{"."}
	}
	m := &multiError{name: "ls", w: s.err}
	var files, dirs []string
	for _, a := range o.args {
		st, err := os.Lstat(a)
		if err != nil {
			m.add(err)
			continue
		}
		if st.IsDir() && !o.set['d'] {
			dirs = append(dirs, a)
		} else {
			files = append(files, a)
		}
	}
	slices.Sort(files)
	slices.Sort(dirs)
	for _, f := range files {
		m.add(lsEntry(s.out, f, f, o.set['l']))
	}
	for i, d := range dirs {
		if len(o.args) > 1 {
			if i > 0 || len(files) > 0 {
				fmt.Fprintln(s.out)
			}
			fmt.Fprintf(s.out, "%s:\n", d)
		}
		ents, err := os.ReadDir(d)
		if err != nil {
			m.add(err)
			continue
		}
		var list []string
		if o.set['a'] {
			list = append(list, ".", "..")
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") && !o.set['a'] && !o.set['A'] {
				continue
			}
			list = append(list, e.Name())
		}
		slices.Sort(list)
		for _, n := range list {
			m.add(lsEntry(s.out, filepath.Join(d, n), n, o.set['l']))
		}
	}
	return m.result()
}

func lsEntry(w io.Writer, path, name string, long bool) error {
	if !long {
		_, err := fmt.Fprintln(w, name)
		return err
	}
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	var nlink uint64
	var uid, gid uint32
	if sys != nil {
		nlink, uid, gid = uint64(sys.Nlink), sys.Uid, sys.Gid
	}
	line := fmt.Sprintf("%s %d %d %d %d %s %s", st.Mode(), nlink, uid, gid, st.Size(),
		st.ModTime().UTC().Format(time.DateTime), name)
	if st.Mode()&fs.ModeSymlink != 0 {
		if t, err := os.Readlink(path); err == nil {
			line += " -> " + t
		}
	}
	_, err = fmt.Fprintln(w, line)
	return err
}

// mkdir [-p] [-m MODE] DIR...
func mkdir(s *stdio, args []string) error {
	o, err := parseFlags("mkdir", args, "p", "m")
	if err != nil {
		return err
	}
	if len(o.args) == 0 {
		return usagef("usage: mkdir [-p] [-m MODE] DIR...")
	}
	mode, err := modeFlag(o, 0o777)
	if err != nil {
		return err
	}
	m := &multiError{name: "mkdir", w: s.err}
	for _, d := range o.args {
		if o.set['p'] {
			m.add(os.MkdirAll(d, 0o777))
		} else {
			m.add(os.Mkdir(d, 0o777))
		}
		if o.set['m'] {
			m.add(syscall.Chmod(d, mode))
		}
	}
	return m.result()
}

func modeFlag(o *opts, def uint32) (uint32, error) {
	if !o.set['m'] {
		return def, nil
	}
	return applyMode(o.values['m'], def, false)
}

// mkfifo [-m MODE] NAME...
func mkfifo(s *stdio, args []string) error {
	o, err := parseFlags("mkfifo", args, "", "m")
	if err != nil {
		return err
	}
	if len(o.args) == 0 {
		return usagef("usage: mkfifo [-m MODE] NAME...")
	}
	mode, err := modeFlag(o, 0o666)
	if err != nil {
		return err
	}
	m := &multiError{name: "mkfifo", w: s.err}
	for _, n := range o.args {
		if err := syscall.Mkfifo(n, mode); err != nil {
			m.add(&fs.PathError{Op: "mkfifo", Path: n, Err: err})
		}
	}
	return m.result()
}

// mknod [-m MODE] NAME c|u|b MAJOR MINOR, or NAME p.
func mknod(s *stdio, args []string) error {
	o, err := parseFlags("mknod", args, "", "m")
	if err != nil {
		return err
	}
	a := o.args
	usage := usagef("usage: mknod [-m MODE] NAME c|b MAJOR MINOR, or mknod NAME p")
	if len(a) < 2 {
		return usage
	}
	mode, err := modeFlag(o, 0o666)
	if err != nil {
		return err
	}
	var dev uint64
	switch a[1] {
	case "p":
		if len(a) != 2 {
			return usage
		}
		mode |= syscall.S_IFIFO
	case "c", "u", "b":
		if len(a) != 4 {
			return usage
		}
		major, err1 := strconv.ParseUint(a[2], 0, 32)
		minor, err2 := strconv.ParseUint(a[3], 0, 32)
		if err1 != nil || err2 != nil {
			return usagef("major and minor must be numbers, got %q %q", a[2], a[3])
		}
		// Linux's encoding of dev_t (makedev in glibc).
		dev = (major&0xfff)<<8 | (major&^0xfff)<<32 | minor&0xff | (minor&^0xff)<<12
		if a[1] == "b" {
			mode |= syscall.S_IFBLK
		} else {
			mode |= syscall.S_IFCHR
		}
	default:
		return usage
	}
	if err := syscall.Mknod(a[0], mode, int(dev)); err != nil {
		return &fs.PathError{Op: "mknod", Path: a[0], Err: err}
	}
	return nil
}

// rm [-rRf] FILE...: -f ignores missing files and never asks.
func rm(s *stdio, args []string) error {
	o, err := parseFlags("rm", args, "rRfv", "")
	if err != nil {
		return err
	}
	force, rec := o.set['f'], o.set['r'] || o.set['R']
	if len(o.args) == 0 && !force {
		return usagef("usage: rm [-rf] FILE...")
	}
	m := &multiError{name: "rm", w: s.err}
	for _, f := range o.args {
		st, err := os.Lstat(f)
		switch {
		case err != nil:
			if !force || !errors.Is(err, fs.ErrNotExist) {
				m.add(err)
			}
		case st.IsDir() && !rec:
			m.add(fmt.Errorf("%s: is a directory (use rm -r)", f))
		case st.IsDir():
			m.add(os.RemoveAll(f))
		default:
			m.add(os.Remove(f))
		}
	}
	return m.result()
}

// touch [-c] FILE...: creates missing files, sets both times to now.
func touch(s *stdio, args []string) error {
	o, err := parseFlags("touch", args, "c", "")
	if err != nil {
		return err
	}
	if len(o.args) == 0 {
		return usagef("usage: touch [-c] FILE...")
	}
	m := &multiError{name: "touch", w: s.err}
	now := time.Now()
	for _, f := range o.args {
		err := os.Chtimes(f, now, now)
		if errors.Is(err, fs.ErrNotExist) && !o.set['c'] {
			var file *os.File
			if file, err = os.OpenFile(f, os.O_WRONLY|os.O_CREATE, 0o666); err == nil {
				err = file.Close()
			}
		} else if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		m.add(err)
	}
	return m.result()
}
